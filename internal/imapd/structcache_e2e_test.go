package imapd_test

import (
	"context"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// TestCachedStructuresRecreatedMailbox: a mailbox deleted and created
// again (which may get the same id in the store) never shows the cached
// structures or headers of the old one's messages.
func TestCachedStructuresRecreatedMailbox(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	put := func(subject string) {
		t.Helper()
		mb := ts.Mailbox(t, alice(), "Reports")
		raw := []byte(testMessage(subject))
		if _, err := ts.Store.Deliver(context.Background(), store.Delivery{Body: raw, Parsed: message.Parse(raw).Marshal(),
			Targets: []store.Target{{Mailbox: mb.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	c.ok("CREATE Reports")
	put("first one")
	c.ok("SELECT Reports")
	u := c.ok("FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	if !containsLine(u, "first one") {
		t.Fatalf("FETCH = %q", u)
	}
	if u := c.ok(`SEARCH SUBJECT "first"`); !containsLine(u, "* SEARCH 1") {
		t.Fatalf("SEARCH = %q", u)
	}
	c.ok("SELECT INBOX")
	c.ok("DELETE Reports")
	c.ok("CREATE Reports")
	put("second one")
	c.ok("SELECT Reports")
	for range 2 { // the second time from the cache
		u = c.ok("FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
		if containsLine(u, "first one") || !containsLine(u, "second one") {
			t.Fatalf("FETCH after re-creating the mailbox = %q", u)
		}
		if u := c.ok(`SEARCH SUBJECT "first"`); containsLine(u, "* SEARCH 1") {
			t.Fatalf("SEARCH found the old message: %q", u)
		}
		if u := c.ok(`SEARCH SUBJECT "second"`); !containsLine(u, "* SEARCH 1") {
			t.Fatalf("SEARCH = %q", u)
		}
	}
}

// TestCachedHeaderMatchesMessage: the header FETCH serves from the
// structure cache (per-copy prefix included) is byte for byte the
// message's header, and a header search matches the same messages
// before and after the cache holds them.
func TestCachedHeaderMatchesMessage(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for _, s := range []string{"alpha report", "beta report", "gamma"} {
		ts.deliver(t, alice(), testMessage(s))
	}
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	whole := strings.Join(c.ok("FETCH 2 BODY.PEEK[]"), "\n")
	for range 2 {
		if u := c.ok("SEARCH SUBJECT report"); !containsLine(u, "* SEARCH 1 2") {
			t.Fatalf("SEARCH = %q", u)
		}
		if u := c.ok("SEARCH HEADER Delivered-To alice"); !containsLine(u, "* SEARCH 1 2 3") {
			t.Fatalf("SEARCH of the per-copy prefix = %q", u)
		}
		u := strings.Join(c.ok("FETCH 2 BODY.PEEK[HEADER]"), "\n")
		i := strings.Index(u, "}\r\n")
		if i < 0 {
			t.Fatalf("FETCH HEADER = %q", u)
		}
		header := strings.TrimSuffix(strings.TrimSuffix(u[i+3:], "\r\n"), ")")
		if !strings.Contains(header, "Delivered-To:") || !strings.HasSuffix(header, "\r\n\r\n") {
			t.Fatalf("header %q lacks the prefix or the blank line", header)
		}
		if j := strings.Index(whole, "}\r\n"); j < 0 || !strings.HasPrefix(whole[j+3:], header) {
			t.Fatalf("header %q is not the start of the message %q", header, whole)
		}
	}
}
