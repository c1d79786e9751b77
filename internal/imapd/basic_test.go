package imapd_test

import (
	"strings"
	"testing"

	"mailhouse/internal/config"
)

func TestBasicSession(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("first"))
	c := ts.login(t, alice())
	u := c.ok(`LIST "" "*"`)
	for _, want := range []string{`"INBOX"`, `\Sent) "/" "Sent"`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`} {
		if !containsLine(u, want) {
			t.Errorf("LIST lacks %s: %q", want, u)
		}
	}
	u = c.ok("SELECT INBOX")
	if !containsLine(u, "* 1 EXISTS") {
		t.Errorf("SELECT: %q", u)
	}
	u = c.ok("FETCH 1 (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject)] RFC822.SIZE)")
	if len(u) != 1 || !strings.Contains(u[0], `"first"`) || !strings.Contains(u[0], "Subject: first") {
		t.Errorf("FETCH: %q", u)
	}
	t.Log(u[0])
	u = c.ok("FETCH 1 BODY[TEXT]")
	if !containsLine(u, "Hello first") || !containsLine(u, `\Seen`) {
		t.Errorf("FETCH BODY[TEXT]: %q", u)
	}
	c.ok("STORE 1 +FLAGS (\\Deleted)")
	u = c.ok("EXPUNGE")
	if !containsLine(u, "* 1 EXPUNGE") {
		t.Errorf("EXPUNGE: %q", u)
	}
	c.ok("LOGOUT")
}
