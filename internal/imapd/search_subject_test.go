package imapd_test

import (
	"testing"

	"mailhouse/internal/config"
)

// SUBJECT matches the envelope's subject as decoded at delivery (RFC
// 9051 §6.4.4), encoded words included; HEADER SUBJECT reads the header
// itself and still sees every Subject field; SUBJECT "" asks for the
// field's presence.
func TestSearchSubjectEnvelope(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("=?UTF-8?Q?Caf=C3=A9_menu?="))
	ts.deliver(t, alice(), testMessage("plain lunch"))
	ts.deliver(t, alice(), "From: a@example.org\r\nSubject: first\r\nSubject: second menu\r\n\r\nbody\r\n")
	ts.deliver(t, alice(), "From: a@example.org\r\n\r\nno subject at all\r\n")
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{`SEARCH CHARSET UTF-8 SUBJECT "café"`, "* SEARCH 1"},
		{`SEARCH SUBJECT "MENU"`, "* SEARCH 1"},
		{`SEARCH SUBJECT lunch`, "* SEARCH 2"},
		{`SEARCH HEADER SUBJECT "second menu"`, "* SEARCH 3"},
		{`SEARCH SUBJECT ""`, "* SEARCH 1 2 3"},
		{`SEARCH NOT SUBJECT menu`, "* SEARCH 2 3 4"},
		{`SEARCH OR SUBJECT lunch FROM a@example.org`, "* SEARCH 2 3 4"},
	} {
		if u := c.ok("%s", tc.cmd); !containsLine(u, tc.want) {
			t.Errorf("%s: %q, want %q", tc.cmd, u, tc.want)
		}
	}
}
