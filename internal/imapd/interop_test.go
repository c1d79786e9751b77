package imapd_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailhouse/internal/config"
)

// Known interoperability traps of real clients, each replayed as the
// client sends it (see CONFORMANCE.md, "Client traps").

// TestIOSMailCondstore: iOS and macOS Mail keep HIGHESTMODSEQ per
// mailbox, learn it from LIST-STATUS/STATUS without selecting, then
// SELECT (CONDSTORE) and ask UID FETCH 1:* (FLAGS) (CHANGEDSINCE m). They
// trust that STATUS and SELECT agree, that every flag change (a \Seen
// set by reading on another device included) raises it, and that flag
// changes pushed during IDLE carry MODSEQ, or they miss changes until a
// full resync.
func TestIOSMailCondstore(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 3 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("ios %d", i+1)))
	}
	phone := ts.login(t, alice())
	phone.ok(`ID ("name" "iPhone Mail" "version" "21A329" "os" "iOS" "os-version" "17.0")`)
	u := phone.ok(`LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT HIGHESTMODSEQ))`)
	st := matching(u, `^\* STATUS "?INBOX"? \(MESSAGES 3 UIDNEXT 4 HIGHESTMODSEQ (\d+)\)$`)
	if len(st) != 1 {
		t.Fatalf("LIST-STATUS: %q", u)
	}
	statusModSeq := regexp.MustCompile(`HIGHESTMODSEQ (\d+)`).FindStringSubmatch(st[0])[1]
	u = phone.ok("SELECT INBOX (CONDSTORE)")
	if got := respCode(t, u, "HIGHESTMODSEQ"); got != statusModSeq {
		t.Errorf("SELECT HIGHESTMODSEQ %s, STATUS said %s", got, statusModSeq)
	}
	// Read on the laptop: \Seen set by FETCH BODY[] raises the modseq.
	laptop := ts.login(t, alice())
	laptop.ok("SELECT INBOX")
	laptop.ok("FETCH 2 BODY[]")
	// The phone idles and is told, with MODSEQ.
	phone.write("i IDLE\r\n")
	phone.expect("+ ")
	laptop.ok(`STORE 3 +FLAGS (\Flagged)`)
	var pushed []string
	for len(pushed) < 2 {
		l := phone.line()
		if strings.Contains(l, "FETCH") {
			pushed = append(pushed, l)
		}
	}
	phone.write("DONE\r\n")
	phone.expect("i OK")
	for _, l := range pushed {
		if !regexp.MustCompile(`^\* [23] FETCH \(UID [23] FLAGS \(.*\) MODSEQ \(\d+\)\)$`).MatchString(l) {
			t.Errorf("pushed without UID or MODSEQ: %q", l)
		}
	}
	// Next launch: the saved modseq finds exactly these two.
	u = phone.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %s)", statusModSeq)
	if len(matching(u, "FETCH")) != 2 {
		t.Errorf("CHANGEDSINCE: %q", u)
	}
	u = phone.ok("STATUS INBOX (HIGHESTMODSEQ)")
	if len(matching(u, "HIGHESTMODSEQ "+statusModSeq+`\)`)) != 0 {
		t.Errorf("STATUS did not move: %q", u)
	}
}

// TestThunderbirdCondstore: Thunderbird enables CONDSTORE (or QRESYNC)
// and skips the flag sync when a reselect shows the same HIGHESTMODSEQ,
// so every change must raise it; it checks for new mail with UID FETCH
// n:* where n is one past the last UID it knows, which must return the
// last message when nothing is new ("*" is the highest UID, RFC 9051
// §6.4.8).
func TestThunderbirdCondstore(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 3 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("tb %d", i+1)))
	}
	tb := ts.login(t, alice())
	tb.ok("ENABLE CONDSTORE")
	h1 := respCode(t, tb.ok(`SELECT "INBOX" (CONDSTORE)`), "HIGHESTMODSEQ")
	u := tb.ok("UID FETCH 4:* (FLAGS)")
	if len(u) != 1 || !strings.Contains(u[0], "UID 3 ") {
		t.Errorf("UID FETCH 4:*: %q", u)
	}
	tb.ok("UNSELECT")
	// Nothing changed: the same HIGHESTMODSEQ, so Thunderbird may skip.
	if h := respCode(t, tb.ok(`SELECT "INBOX" (CONDSTORE)`), "HIGHESTMODSEQ"); h != h1 {
		t.Errorf("HIGHESTMODSEQ moved without a change: %s -> %s", h1, h)
	}
	tb.ok("UNSELECT")
	other := ts.login(t, alice())
	other.ok("SELECT INBOX")
	other.ok(`STORE 1 -FLAGS ($NotJunk)`) // no change: no new modseq needed
	other.ok(`STORE 1 +FLAGS (\Answered)`)
	h2 := respCode(t, tb.ok(`SELECT "INBOX" (CONDSTORE)`), "HIGHESTMODSEQ")
	n1, _ := strconv.Atoi(h1)
	n2, _ := strconv.Atoi(h2)
	if n2 <= n1 {
		t.Fatalf("HIGHESTMODSEQ did not grow: %d -> %d", n1, n2)
	}
	u = tb.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %s)", h1)
	if len(u) != 1 || !strings.Contains(u[0], `\Answered`) || !strings.Contains(u[0], "MODSEQ ("+h2+")") {
		t.Errorf("changes: %q", u)
	}
}

// TestOutlookListPatterns: Outlook asks for the delimiter with LIST ""
// "", lists with "*" and "%", LSUBs everything, names INBOX in any case
// and walks children with a reference; every form must give the same
// names and attributes.
func TestOutlookListPatterns(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	c.ok("CREATE Archive/2023")
	c.ok("CREATE Scratch")
	c.ok("SUBSCRIBE INBOX")
	c.ok("SUBSCRIBE Archive/2023")
	for _, tc := range []struct {
		cmd  string
		want []string
		not  []string
	}{
		{`LIST "" ""`, []string{`* LIST (\Noselect) "/" ""`}, nil},
		{`LIST "" "*"`, []string{`"INBOX"`, `"Archive"`, `"Archive/2023"`, `\HasChildren`, `\Sent`}, nil},
		{`LIST "" "%"`, []string{`"INBOX"`, `"Archive"`}, []string{`"Archive/2023"`}},
		{`LSUB "" "*"`, []string{`* LSUB () "/" "INBOX"`, `"Archive/2023"`}, []string{`"Scratch"`}},
		{`LIST "" "inbox"`, []string{`"INBOX"`}, []string{`"Sent"`}},
		{`LIST "Archive/" "%"`, []string{`"Archive/2023"`}, []string{`"INBOX"`}},
		{`LIST "" "Archive/%"`, []string{`"Archive/2023"`}, nil},
		{`LIST "" "*" RETURN (SPECIAL-USE)`, []string{`\Trash) "/" "Trash"`}, nil},
	} {
		u := c.ok("%s", tc.cmd)
		for _, w := range tc.want {
			if !containsLine(u, w) {
				t.Errorf("%s: no %s in %q", tc.cmd, w, u)
			}
		}
		for _, n := range tc.not {
			if containsLine(u, n) {
				t.Errorf("%s: %s in %q", tc.cmd, n, u)
			}
		}
	}
}

// TestAppleMailIDBeforeLogin: Apple Mail sends ID before logging in;
// the answer names the server and its version and nothing of the host.
func TestAppleMailIDBeforeLogin(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	u := c.ok(`ID ("name" "Mac OS X Mail" "version" "16.0 (3731.500.231)" "os" "Mac OS X" "os-version" "13.4 (22F66)" "vendor" "Apple Inc.")`)
	if len(u) != 1 || u[0] != `* ID ("name" "mailhouse" "version" "dev")` {
		t.Errorf("ID: %q", u)
	}
}

// TestStartTLSPipelined: a command sent in clear right behind STARTTLS
// must not run as if it came under TLS (the CVE-2011-0411 injection);
// NAMESPACE gives the one personal namespace.
func TestStartTLSPipelined(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.plainAddr, nil)
	c.write("a STARTTLS\r\nb LOGIN x y\r\n")
	if l := c.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("pipelined STARTTLS: %q", l)
	}
	c2 := ts.login(t, alice())
	if u := c2.ok("NAMESPACE"); len(u) != 1 || u[0] != `* NAMESPACE (("" "/")) NIL NIL` {
		t.Errorf("NAMESPACE: %q", u)
	}
}
