package imapd_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
)

// respCode returns the number after name in a response code ("[name n]")
// found in lines.
func respCode(t *testing.T, lines []string, name string) string {
	t.Helper()
	re := regexp.MustCompile(`\[` + name + ` (\d+)\]`)
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no [%s] in %q", name, lines)
	return ""
}

// matching returns the lines that match the regular expression.
func matching(lines []string, expr string) []string {
	re := regexp.MustCompile(expr)
	var out []string
	for _, l := range lines {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// until repeats a command (NOOP) until one of its untagged lines
// contains want: another session's change reaches this one through the
// change feed, a moment after that session's command completed.
func (c *client) until(cmd, want string) []string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		u := c.ok("%s", cmd)
		if containsLine(u, want) || time.Now().After(deadline) {
			return u
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQResyncReconnect is the offline client's resync (RFC 7162 §3.2.5):
// it knows (UIDVALIDITY, HIGHESTMODSEQ); meanwhile another session flags
// 3 messages and expunges 2. Its QRESYNC SELECT returns exactly one
// VANISHED (EARLIER) with the 2 UIDs and the 3 FETCHes.
func TestQResyncReconnect(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 10 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("m%d", i+1)))
	}
	c := ts.login(t, alice())
	c.ok("ENABLE QRESYNC")
	u := c.ok("SELECT INBOX")
	uidv, hms := respCode(t, u, "UIDVALIDITY"), respCode(t, u, "HIGHESTMODSEQ")
	c.ok("LOGOUT")

	other := ts.login(t, alice())
	other.ok("SELECT INBOX")
	other.ok(`UID STORE 2,4,6 +FLAGS (\Flagged)`)
	other.ok(`UID STORE 8:9 +FLAGS.SILENT (\Deleted)`)
	other.ok("EXPUNGE")

	c = ts.login(t, alice())
	u = c.ok("ENABLE QRESYNC")
	if !containsLine(u, "* ENABLED QRESYNC") {
		t.Errorf("ENABLE: %q", u)
	}
	u = c.ok("SELECT INBOX (QRESYNC (%s %s))", uidv, hms)
	if v := matching(u, `VANISHED`); len(v) != 1 || v[0] != "* VANISHED (EARLIER) 8:9" {
		t.Errorf("VANISHED: %q", v)
	}
	fetches := matching(u, `FETCH`)
	want := matching(fetches, `^\* [246] FETCH \(UID [246] FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$`)
	if len(fetches) != 3 || len(want) != 3 {
		t.Errorf("FETCH: %q", fetches)
	}
	if !containsLine(u, "* 8 EXISTS") || respCode(t, u, "HIGHESTMODSEQ") == hms {
		t.Errorf("SELECT: %q", u)
	}
	// The new state is resumable: nothing changed since.
	hms2 := respCode(t, u, "HIGHESTMODSEQ")
	u = c.ok("SELECT INBOX (QRESYNC (%s %s))", uidv, hms2)
	if len(matching(u, `VANISHED|FETCH`)) != 0 {
		t.Errorf("resync without changes: %q", u)
	}
	// known-uids limit what is reported.
	u = c.ok("EXAMINE INBOX (QRESYNC (%s %s 1:5))", uidv, hms)
	if v := matching(u, `VANISHED|FETCH`); len(v) != 2 || !strings.Contains(v[0], "UID 2 ") {
		t.Errorf("with known UIDs 1:5: %q", v)
	}
	// Another UIDVALIDITY: the cache is void, nothing is reported.
	u = c.ok("SELECT INBOX (QRESYNC (1 %s))", hms)
	if len(matching(u, `VANISHED|FETCH`)) != 0 {
		t.Errorf("UIDVALIDITY mismatch: %q", u)
	}
}

// TestQResyncNeedsEnable: QRESYNC in SELECT without ENABLE QRESYNC is
// BAD (RFC 7162 §3.2.5); so is VANISHED in FETCH.
func TestQResyncNeedsEnable(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("x"))
	c := ts.login(t, alice())
	if st := c.status("SELECT INBOX (QRESYNC (1 1))"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("SELECT QRESYNC without ENABLE: %s", st)
	}
	if st := c.status("SELECT INBOX (FOO)"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("unknown SELECT parameter: %s", st)
	}
	c.ok("SELECT INBOX (CONDSTORE)")
	if st := c.status("UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("VANISHED without QRESYNC: %s", st)
	}
	// ENABLED lists what this command enabled: CONDSTORE was on since
	// SELECT (CONDSTORE).
	if u := c.ok("ENABLE QRESYNC CONDSTORE"); len(u) != 1 || u[0] != "* ENABLED QRESYNC" {
		t.Errorf("ENABLE: %q", u)
	}
	// QRESYNC implies CONDSTORE, listed when asked for.
	c2 := ts.login(t, alice())
	if u := c2.ok("ENABLE QRESYNC CONDSTORE"); len(u) != 1 || u[0] != "* ENABLED QRESYNC CONDSTORE" {
		t.Errorf("ENABLE both: %q", u)
	}
	if st := c.status("FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("VANISHED without UID: %s", st)
	}
}

// TestVanishedReplacesExpunge: once QRESYNC is enabled, expunges by
// another session, by EXPUNGE and by MOVE come as VANISHED (RFC 7162
// §3.2.10), and UID FETCH (CHANGEDSINCE m VANISHED) reports earlier ones.
func TestVanishedReplacesExpunge(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 6 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("v%d", i+1)))
	}
	c := ts.login(t, alice())
	c.ok("ENABLE QRESYNC")
	hms := respCode(t, c.ok("SELECT INBOX"), "HIGHESTMODSEQ")
	other := ts.login(t, alice())
	other.ok("SELECT INBOX")
	other.ok(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	other.ok("EXPUNGE")
	u := c.until("NOOP", "VANISHED")
	if !containsLine(u, "* VANISHED 2") || containsLine(u, "EXPUNGE") {
		t.Errorf("NOOP after another session's EXPUNGE: %q", u)
	}
	c.ok(`UID STORE 3 +FLAGS.SILENT (\Deleted)`)
	u, tagged := c.do("EXPUNGE")
	if !containsLine(u, "* VANISHED 3") || !strings.HasPrefix(tagged, "OK [HIGHESTMODSEQ ") {
		t.Errorf("EXPUNGE: %q %s", u, tagged)
	}
	u = c.ok("UID MOVE 4 Archive")
	if !containsLine(u, "* VANISHED 4") || !containsLine(u, "COPYUID") {
		t.Errorf("MOVE: %q", u)
	}
	u = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %s VANISHED)", hms)
	if v := matching(u, "VANISHED"); len(v) != 1 || v[0] != "* VANISHED (EARLIER) 2:4" {
		t.Errorf("UID FETCH VANISHED: %q", u)
	}
	// The EXISTS count matches: 3 messages left.
	if u := c.ok("SEARCH ALL"); !containsLine(u, "* SEARCH 1 2 3") {
		t.Errorf("SEARCH: %q", u)
	}
}

// TestUnchangedSince: a conditional STORE on a message another session
// changed in between fails for it with MODIFIED (RFC 7162 §3.1.3), by
// sequence number or by UID; the others are stored and reported with
// their MODSEQ, also for .SILENT.
func TestUnchangedSince(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 4 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("u%d", i+1)))
	}
	c := ts.login(t, alice())
	u := c.ok("SELECT INBOX (CONDSTORE)")
	hms := respCode(t, u, "HIGHESTMODSEQ")
	other := ts.login(t, alice())
	other.ok("SELECT INBOX")
	other.ok(`STORE 2 +FLAGS ($Important)`)

	u, tagged := c.do(`STORE 1:3 (UNCHANGEDSINCE %s) +FLAGS (\Seen)`, hms)
	if tagged != "OK [MODIFIED 2] conditional STORE failed" {
		t.Errorf("tagged: %s", tagged)
	}
	stored := matching(u, `^\* [13] FETCH \(UID [13] FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$`)
	if len(stored) != 2 || len(matching(u, `^\* 2 FETCH .*\\Seen`)) != 0 {
		t.Errorf("FETCH: %q", u)
	}
	// The change to message 2 reaches this session (with MODSEQ).
	if !containsLine(u, `$Important`) {
		u = c.until("NOOP", `$Important`)
		if len(matching(u, `^\* 2 FETCH \(UID 2 FLAGS \(\$Important\) MODSEQ \(\d+\)\)$`)) != 1 {
			t.Errorf("NOOP: %q", u)
		}
	}
	// UID STORE: MODIFIED lists UIDs; .SILENT still reports MODSEQ.
	u, tagged = c.do(`UID STORE 1:4 (UNCHANGEDSINCE %s) +FLAGS.SILENT (\Answered)`, hms)
	if tagged != "OK [MODIFIED 1:3] conditional STORE failed" {
		t.Errorf("UID STORE tagged: %s", tagged)
	}
	if f := matching(u, `FETCH`); len(f) != 1 || !regexp.MustCompile(`^\* 4 FETCH \(UID 4 MODSEQ \(\d+\)\)$`).MatchString(f[0]) {
		t.Errorf("UID STORE .SILENT: %q", u)
	}
	// UNCHANGEDSINCE 0 always fails.
	if _, tagged = c.do(`STORE 1:4 (UNCHANGEDSINCE 0) -FLAGS (\Seen)`); tagged != "OK [MODIFIED 1:4] conditional STORE failed" {
		t.Errorf("UNCHANGEDSINCE 0: %s", tagged)
	}
}

// TestCondstoreEnabling: a CONDSTORE-enabling command in a mailbox
// selected without it (FETCH MODSEQ, SEARCH MODSEQ, STATUS
// HIGHESTMODSEQ) turns MODSEQ on for every later FETCH, and tells the
// mailbox's HIGHESTMODSEQ at once (RFC 7162 §3.1).
func TestCondstoreEnabling(t *testing.T) {
	for _, cmd := range []string{"FETCH 1 (MODSEQ)", "SEARCH MODSEQ 1", "STATUS INBOX (HIGHESTMODSEQ)", "ENABLE CONDSTORE", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"} {
		t.Run(strings.Fields(cmd)[0], func(t *testing.T) {
			ts := startServer(t, config.IMAP{})
			ts.deliver(t, alice(), testMessage("e1"))
			ts.deliver(t, alice(), testMessage("e2"))
			c := ts.login(t, alice())
			u := c.ok("SELECT INBOX")
			if containsLine(u, "HIGHESTMODSEQ") {
				t.Fatalf("HIGHESTMODSEQ before CONDSTORE: %q", u)
			}
			if u := c.ok("%s", cmd); !containsLine(u, "* OK [HIGHESTMODSEQ ") {
				t.Errorf("%s: %q", cmd, u)
			}
			u = c.ok(`STORE 2 +FLAGS (\Flagged)`)
			if len(matching(u, `^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$`)) != 1 {
				t.Errorf("STORE after %s: %q", cmd, u)
			}
		})
	}
}

// TestFetchChangedSince: only messages changed after the modseq, with
// MODSEQ added; SEARCH MODSEQ reports the highest modseq found; a FETCH
// that sets \Seen reports the new MODSEQ.
func TestFetchChangedSince(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 5 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("c%d", i+1)))
	}
	c := ts.login(t, alice())
	hms := respCode(t, c.ok("SELECT INBOX (CONDSTORE)"), "HIGHESTMODSEQ")
	c.ok(`STORE 2,4 +FLAGS.SILENT (\Flagged)`)
	u := c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %s)", hms)
	if f := matching(u, "FETCH"); len(f) != 2 || !strings.HasPrefix(f[0], "* 2 FETCH (FLAGS (\\Flagged) MODSEQ (") {
		t.Errorf("CHANGEDSINCE: %q", u)
	}
	// MODSEQ n matches modseqs >= n (RFC 7162 §3.1.5).
	var h int
	fmt.Sscan(hms, &h)
	u = c.ok("UID SEARCH MODSEQ %d", h+1)
	if len(matching(u, `^\* SEARCH 2 4 \(MODSEQ \d+\)$`)) != 1 {
		t.Errorf("SEARCH MODSEQ: %q", u)
	}
	u = c.ok("SEARCH RETURN (COUNT) MODSEQ %d", h+1)
	if len(matching(u, `COUNT 2 MODSEQ \d+$`)) != 1 {
		t.Errorf("ESEARCH MODSEQ: %q", u)
	}
	u = c.ok("FETCH 5 (BODY[TEXT])")
	if len(matching(u, `(?s)^\* 5 FETCH \(BODY\[TEXT\] .*FLAGS \(\\Seen\) UID 5 MODSEQ \(\d+\)\)$`)) != 1 {
		t.Errorf("FETCH setting \\Seen: %q", u)
	}
	u = c.ok("STATUS INBOX (HIGHESTMODSEQ DELETED DELETED-STORAGE)")
	if len(matching(u, `HIGHESTMODSEQ \d+ DELETED 0 DELETED-STORAGE 0`)) != 1 {
		t.Errorf("STATUS: %q", u)
	}
}

// TestQResyncBeyondHistory: when the client's modseq is older than the
// expunge history the store keeps (sqlstore: the newest 10,000 expunges
// of a mailbox), VANISHED (EARLIER) reports every UID the client may
// know that is gone (RFC 7162 §3.2.5.2), and a live session learns of
// them too.
func TestQResyncBeyondHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("expunges 11,005 messages")
	}
	ts := startServer(t, config.IMAP{})
	fill(t, ts, "INBOX", 11_010)
	// Commands on 11,005 messages take about a second; under the race
	// detector, which slows the SQLite engine (Go code) many times, and
	// on a loaded machine, tens of seconds.
	const bulk = 3 * time.Minute
	c := ts.login(t, alice())
	c.wait = bulk
	c.ok("ENABLE QRESYNC")
	u := c.ok("SELECT INBOX")
	uidv, hms := respCode(t, u, "UIDVALIDITY"), respCode(t, u, "HIGHESTMODSEQ")
	live := ts.login(t, alice())
	live.wait = bulk
	live.ok("ENABLE QRESYNC")
	live.ok("SELECT INBOX")

	other := ts.login(t, alice())
	other.wait = bulk
	other.ok("SELECT INBOX")
	other.ok(`UID STORE 1:11005 +FLAGS.SILENT (\Deleted)`)
	other.ok("UID EXPUNGE 1:11005")

	u = c.ok("SELECT INBOX (QRESYNC (%s %s))", uidv, hms)
	if v := matching(u, "VANISHED"); len(v) != 1 || v[0] != "* VANISHED (EARLIER) 1:11005" {
		t.Errorf("VANISHED: %q", v)
	}
	if !containsLine(u, "* 5 EXISTS") {
		t.Errorf("SELECT: %q", u)
	}
	u = live.until("NOOP", "VANISHED")
	if v := matching(u, "VANISHED"); len(v) != 1 || v[0] != "* VANISHED 1:11005" {
		t.Errorf("live session: %q", v)
	}
}
