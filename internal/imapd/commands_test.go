package imapd_test

import (
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
)

func TestExamineIsReadOnly(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("ro"))
	c := ts.login(t, alice())
	if _, tagged := c.do("EXAMINE INBOX"); !strings.HasPrefix(tagged, "OK [READ-ONLY]") {
		t.Errorf("EXAMINE: %s", tagged)
	}
	u := c.ok("FETCH 1 (BODY[TEXT] FLAGS)")
	if containsLine(u, `\Seen`) {
		t.Errorf("EXAMINE set \\Seen: %q", u)
	}
	if st := c.status("STORE 1 +FLAGS (\\Flagged)"); !strings.HasPrefix(st, "NO") {
		t.Errorf("STORE in EXAMINE: %s", st)
	}
	if st := c.status("EXPUNGE"); !strings.HasPrefix(st, "NO") {
		t.Errorf("EXPUNGE in EXAMINE: %s", st)
	}
}

func TestCloseExpungesSilently(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("a"))
	ts.deliver(t, alice(), testMessage("b"))
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	u := c.ok("CLOSE")
	if containsLine(u, "EXPUNGE") {
		t.Errorf("CLOSE sent EXPUNGE: %q", u)
	}
	u = c.ok("STATUS INBOX (MESSAGES)")
	if !containsLine(u, "MESSAGES 1") {
		t.Errorf("after CLOSE: %q", u)
	}
	if st := c.status("FETCH 1 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH after CLOSE: %s", st)
	}
}

func TestTryCreate(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("a"))
	c := ts.login(t, alice())
	c.write("a APPEND Nowhere {3}\r\n")
	c.expect("+ ")
	c.write("abc\r\n")
	c.expect("a NO [TRYCREATE]")
	c.ok("SELECT INBOX")
	if st := c.status("COPY 1 Nowhere"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("COPY: %s", st)
	}
}

func TestSearchResAndPartial(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for _, s := range []string{"apple", "banana", "apple pie"} {
		ts.deliver(t, alice(), testMessage(s))
	}
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	u := c.ok("UID SEARCH RETURN (SAVE) SUBJECT apple")
	if len(u) != 0 {
		t.Errorf("SEARCH RETURN (SAVE) answered %q", u)
	}
	u = c.ok("FETCH $ (UID)")
	if len(u) != 2 || !containsLine(u, "* 1 FETCH (UID 1)") || !containsLine(u, "* 3 FETCH (UID 3)") {
		t.Errorf("FETCH $: %q", u)
	}
	u = c.ok("SEARCH RETURN (MIN MAX COUNT ALL) OR SUBJECT banana UID $")
	if !containsLine(u, `* ESEARCH (TAG "t5") MIN 1 MAX 3 COUNT 3 ALL 1:3`) {
		t.Errorf("ESEARCH: %q", u)
	}
	u = c.ok("FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)]<9.6>)")
	if !containsLine(u, "BODY[HEADER.FIELDS (SUBJECT)]<9> {6}\r\nbanana") {
		t.Errorf("partial: %q", u)
	}
	u = c.ok("FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[1.MIME] BODY.PEEK[2])")
	if !containsLine(u, "BINARY[1] {14}\r\nHello banana\r\n") || !containsLine(u, "BINARY.SIZE[1] 14") || !containsLine(u, "BODY[2] NIL") {
		t.Errorf("BINARY: %q", u)
	}
	c.ok("ENABLE IMAP4rev2")
	u = c.ok("SEARCH SUBJECT apple")
	if !containsLine(u, `* ESEARCH (TAG "t9") ALL 1,3`) {
		t.Errorf("IMAP4rev2 SEARCH: %q", u)
	}
}

func TestSelectedMailboxDeletedElsewhere(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	a := ts.login(t, alice())
	b := ts.login(t, alice())
	a.ok("CREATE Temp")
	a.ok("SELECT Temp")
	b.ok("DELETE Temp")
	// The deletion reaches a through the change feed, a moment later:
	// NOOP until it does.
	for deadline := time.Now().Add(15 * time.Second); ; {
		a.write("x NOOP\r\n")
		l := a.line()
		for strings.HasPrefix(l, "* ") && !strings.HasPrefix(l, "* BYE") {
			l = a.line()
		}
		if strings.HasPrefix(l, "* BYE") {
			return
		}
		if !strings.HasPrefix(l, "x OK") || time.Now().After(deadline) {
			t.Fatalf("NOOP after the selected mailbox was deleted elsewhere: %q", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
