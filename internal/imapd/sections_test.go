package imapd_test

import (
	"strings"
	"testing"

	"mailhouse/internal/config"
)

// TestSectionsOfEnclosedMessage follows dovecot/imaptest's
// fetch-body-message-rfc822: a message whose body is a message/rfc822.
func TestSectionsOfEnclosedMessage(t *testing.T) {
	msg := "From: user@domain.org\r\nDate: Sat, 24 Mar 2007 23:00:00 +0200\r\nMime-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\nHello world\r\n"
	inner := msg[strings.Index(msg, "\r\n\r\n")+4:]
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	c.write("a APPEND INBOX {" + itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	c.expect("a OK")
	c.ok("SELECT INBOX")
	for _, tc := range []struct{ section, want string }{
		{"", msg},
		{"TEXT", inner},
		{"1", inner},
		{"1.HEADER", "From: sub@domain.org\r\nDate: Sun, 12 Aug 2012 12:34:56 +0300\r\nSubject: submsg\r\n\r\n"},
		{"1.HEADER.FIELDS (from subject X-foo)", "From: sub@domain.org\r\nSubject: submsg\r\n\r\n"},
		{"1.HEADER.FIELDS.NOT (from subject X-foo)", "Date: Sun, 12 Aug 2012 12:34:56 +0300\r\n\r\n"},
		{"1.TEXT", "Hello world\r\n"},
		{"1.1", "Hello world\r\n"},
	} {
		u := c.ok("FETCH 1 (BODY.PEEK[%s])", tc.section)
		if len(u) != 1 {
			t.Fatalf("%s: %q", tc.section, u)
		}
		i := strings.Index(u[0], "}\r\n")
		if i < 0 || strings.TrimSuffix(u[0][i+3:], ")") != tc.want {
			t.Errorf("BODY[%s] = %q, want %q", tc.section, u[0], tc.want)
		}
	}
	u := c.ok("FETCH 1 BODYSTRUCTURE")
	want := `("message" "rfc822" NIL NIL NIL "7BIT" ` + itoa(len(inner)) + ` ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 13 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)`
	if !strings.Contains(u[0], want) {
		t.Errorf("BODYSTRUCTURE %q\nwant %q", u[0], want)
	}
}
