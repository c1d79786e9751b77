package imapd_test

import (
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
)

// A session's own STORE and APPEND update its view without asking the
// store for changes; what other sessions change before or after is
// still reported.
func TestOwnWritesAndOthers(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver(t, alice(), testMessage(s))
	}
	a := ts.login(t, alice())
	b := ts.login(t, alice())
	a.ok("ENABLE CONDSTORE")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")

	// waitFor runs NOOP until a line containing want comes (the change
	// feed delivers other sessions' changes asynchronously).
	waitFor := func(c interface{ ok(string, ...any) []string }, want string) {
		t.Helper()
		var seen []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, l := range c.ok("NOOP") {
				seen = append(seen, l)
				if strings.Contains(l, want) {
					return
				}
			}
		}
		t.Fatalf("no %q in %q", want, seen)
	}

	// A's own change first, then B's: A learns of B's.
	if u := a.ok(`STORE 1 +FLAGS (\Flagged)`); !containsLine(u, `* 1 FETCH (UID 1 FLAGS (\Flagged) MODSEQ (`) {
		t.Errorf("STORE: %q", u)
	}
	b.ok(`STORE 2 +FLAGS (\Answered)`)
	waitFor(a, `* 2 FETCH (UID 2 FLAGS (\Answered) MODSEQ (`)

	// B's change first, then A's own: A's STORE reports both.
	b.ok(`STORE 3 +FLAGS (\Draft)`)
	time.Sleep(50 * time.Millisecond)
	u := a.ok(`STORE 1 -FLAGS (\Flagged)`)
	if !containsLine(u, `* 3 FETCH (UID 3 FLAGS (\Draft) MODSEQ (`) || !containsLine(u, `* 1 FETCH (UID 1 FLAGS () MODSEQ (`) {
		t.Errorf("STORE after another session's: %q", u)
	}

	// A's APPEND: EXISTS at once; then B's, which A learns of.
	msg := testMessage("four")
	u = a.ok("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	if !containsLine(u, "* 4 EXISTS") {
		t.Errorf("APPEND: %q", u)
	}
	b.ok("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	waitFor(a, "* 5 EXISTS")
	if u := a.ok("UID SEARCH ALL"); !containsLine(u, "* SEARCH 1 2 3 4 5") {
		t.Errorf("after appends: %q", u)
	}
	if u := a.ok("FETCH 1:5 (FLAGS)"); len(u) != 5 || !containsLine(u, `* 2 FETCH (FLAGS (\Answered))`) {
		t.Errorf("flags after all: %q", u)
	}
}

// A session that has read its whole mailbox (and so answers from what it
// keeps) still follows other sessions' flag changes, expunges and
// appends, and its own.
func TestKeptMetadataFollowsChanges(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for _, s := range []string{"one", "two", "three"} {
		ts.deliver(t, alice(), testMessage(s))
	}
	a := ts.login(t, alice())
	b := ts.login(t, alice())
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	a.ok("UID FETCH 1:* (FLAGS)") // a whole read: A keeps it
	waitFor := func(want string) {
		t.Helper()
		var seen []string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, l := range a.ok("NOOP") {
				seen = append(seen, l)
				if strings.Contains(l, want) {
					return
				}
			}
		}
		t.Fatalf("no %q in %q", want, seen)
	}

	b.ok(`STORE 1 +FLAGS (\Flagged)`)
	waitFor(`* 1 FETCH (UID 1 FLAGS (\Flagged))`)
	if u := a.ok("SEARCH FLAGGED"); !containsLine(u, "* SEARCH 1") {
		t.Errorf("SEARCH FLAGGED after B's STORE: %q", u)
	}
	b.ok(`STORE 2 +FLAGS (\Deleted)`)
	b.ok("EXPUNGE")
	waitFor("* 2 EXPUNGE")
	if u := a.ok("SEARCH ALL"); !containsLine(u, "* SEARCH 1 2") || containsLine(u, "* SEARCH 1 2 3") {
		t.Errorf("SEARCH ALL after B's EXPUNGE: %q", u)
	}
	msg := testMessage("four")
	b.ok("APPEND INBOX (\\Seen) {%d+}\r\n%s", len(msg), msg)
	waitFor("* 3 EXISTS")
	if u := a.ok("FETCH 3 (UID FLAGS)"); !containsLine(u, `* 3 FETCH (UID 4 FLAGS (\Seen))`) {
		t.Errorf("FETCH of B's APPEND: %q", u)
	}
	a.ok(`STORE 2 +FLAGS.SILENT (\Answered)`)
	a.ok("APPEND INBOX (\\Draft) {%d+}\r\n%s", len(msg), msg)
	if u := a.ok("FETCH 1:* (UID FLAGS)"); len(u) != 4 || !containsLine(u, `* 2 FETCH (UID 3 FLAGS (\Answered))`) ||
		!containsLine(u, `* 4 FETCH (UID 5 FLAGS (\Draft))`) {
		t.Errorf("FETCH after own STORE and APPEND: %q", u)
	}
	if u := a.ok("SEARCH UNSEEN"); !containsLine(u, "* SEARCH 1 2 4") {
		t.Errorf("SEARCH UNSEEN: %q", u)
	}
}
