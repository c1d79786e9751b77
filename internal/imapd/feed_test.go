package imapd_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
)

// Sessions of one account share one store subscription: every IDLE
// session sees every delivery as it happens, and a selected session
// that does not read while more events come than its channel holds
// still learns all of them at its next command.
func TestSharedFeedManyEvents(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	idlers := []*client{ts.login(t, alice()), ts.login(t, alice())}
	busy := ts.login(t, alice())
	other := ts.login(t, bob())
	for _, c := range append(idlers, busy, other) {
		c.ok("SELECT INBOX")
	}
	for _, c := range append(idlers, other) {
		c.write("i IDLE\r\n")
		c.expect("+ ")
	}
	const n = 20 // more than a session's event channel holds
	for i := range n {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("burst %d", i)))
	}
	for _, c := range idlers {
		readUntil(c, fmt.Sprintf("* %d EXISTS", n))
		c.write("DONE\r\n")
		c.expect("i OK")
	}
	if u := busy.ok("NOOP"); !containsLine(u, fmt.Sprintf("* %d EXISTS", n)) {
		t.Errorf("NOOP after %d deliveries: %q", n, u)
	}
	// bob's IDLE heard nothing of alice's mail.
	other.write("DONE\r\n")
	if l := other.line(); !strings.HasPrefix(l, "i OK") {
		t.Errorf("bob's IDLE: %q", l)
	}
}

// A change that comes while DONE is half sent does not break the line:
// the wake-up of an IDLE session never cuts a line it has started to read.
func TestIdleDoneSplitAroundDelivery(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	for round := range 3 {
		c.write("i IDLE\r\n")
		c.expect("+ ")
		c.write("DO")
		time.Sleep(50 * time.Millisecond)
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("split %d", round)))
		time.Sleep(50 * time.Millisecond)
		c.write("NE\r\n")
		readUntil(c, "i OK")
		if u := c.ok("NOOP"); round == 2 && !containsLine(u, "* 3 EXISTS") && !containsLine(u, "* 3 RECENT") {
			// The EXISTS may have come before the OK; the count must be right by now.
			st := c.ok("STATUS INBOX (MESSAGES)")
			if !containsLine(st, "MESSAGES 3") {
				t.Errorf("after 3 deliveries: %q %q", u, st)
			}
		}
	}
	// The session still works: another IDLE sees the next delivery.
	c.write("i IDLE\r\n")
	c.expect("+ ")
	ts.deliver(t, alice(), testMessage("after"))
	readUntil(c, "* 4 EXISTS")
	c.write("DONE\r\n")
	c.expect("i OK")
}

// readUntil reads responses until one starts with prefix; untagged
// responses before it are skipped, a tagged one fails the test.
func readUntil(c *client, prefix string) {
	c.t.Helper()
	for {
		l := c.line()
		if strings.HasPrefix(l, prefix) {
			return
		}
		if !strings.HasPrefix(l, "* ") {
			c.t.Fatalf("got %q before %q", l, prefix)
		}
	}
}

// When changes to other mailboxes fill a session's event channel, a
// change to its own mailbox is still reported (the channel's last place
// holds a marker that makes the session re-read).
func TestSharedFeedOverflowKeepsOwnMailbox(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	writer := ts.login(t, alice())
	writer.ok("CREATE Other")
	busy := ts.login(t, alice())
	busy.ok("SELECT INBOX")
	msg := strings.ReplaceAll(testMessage("elsewhere"), "\r\n", "\n")
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	for range 12 {
		writer.ok("APPEND Other {%d+}\r\n%s", len(msg), msg)
	}
	ts.deliver(t, alice(), testMessage("mine"))
	time.Sleep(100 * time.Millisecond) // let the feed hand the events out (and overflow)
	if u := busy.until("NOOP", "* 1 EXISTS"); !containsLine(u, "* 1 EXISTS") {
		t.Errorf("NOOP after 12 changes elsewhere and one to INBOX: %q", u)
	}
}
