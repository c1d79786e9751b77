package pop3d_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

func TestStatListRetrExactSizes(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, msg("crlf", "Line one\n.hidden dot line\n..two dots\n.\nend\n"))
	// APPENDed over IMAP with bare LFs, and one without a final newline.
	e.appendRaw(alice, []byte("Subject: lf\n\nbare\nline feeds\n.dot\n"))
	e.appendRaw(alice, []byte("Subject: no end\r\n\r\nmixed\nendings\r\nno final newline"))
	e.appendRaw(alice, []byte("Subject: lone cr\r\n\r\ncarriage\rreturn\r"))

	c := e.login(alice)
	stat := c.cmd("STAT", "+OK 4 ")
	c.cmd("LIST", "+OK")
	list := c.lines()
	if len(list) != 4 {
		t.Fatalf("LIST = %q", list)
	}
	total := 0
	for i, l := range list {
		var n, size int
		if _, err := fmt.Sscanf(l, "%d %d", &n, &size); err != nil || n != i+1 {
			t.Fatalf("LIST line %q", l)
		}
		body := c.retr(n)
		if len(body) != size {
			t.Errorf("message %d: LIST says %d octets, RETR sent %d", n, size, len(body))
		}
		if one := c.cmd("LIST "+strconv.Itoa(n), "+OK "); one != fmt.Sprintf("+OK %d %d", n, size) {
			t.Errorf("LIST %d = %q", n, one)
		}
		if strings.Contains(strings.ReplaceAll(string(body), "\r\n", ""), "\n") {
			t.Errorf("message %d has a bare LF: %q", n, body)
		}
		if !strings.HasSuffix(string(body), "\r\n") {
			t.Errorf("message %d does not end in CRLF", n)
		}
		total += size
	}
	if stat != fmt.Sprintf("+OK 4 %d", total) {
		t.Errorf("STAT = %q, LIST total %d", stat, total)
	}

	body := string(c.retr(1))
	// The per-copy trace prefix comes first, then the body as delivered,
	// with its dot lines intact after unstuffing.
	if !strings.HasPrefix(body, "Return-Path: <carol@example.org>\r\nDelivered-To: "+alice+"\r\n") {
		t.Errorf("message 1 lacks its trace prefix: %q", body)
	}
	if !strings.HasSuffix(body, "Line one\r\n.hidden dot line\r\n..two dots\r\n.\r\nend\r\n") {
		t.Errorf("message 1 body = %q", body)
	}
	if got := string(c.retr(2)); got != "Subject: lf\r\n\r\nbare\r\nline feeds\r\n.dot\r\n" {
		t.Errorf("message 2 = %q", got)
	}
	if got := string(c.retr(3)); got != "Subject: no end\r\n\r\nmixed\r\nendings\r\nno final newline\r\n" {
		t.Errorf("message 3 = %q", got)
	}

	// On the wire the dot lines are stuffed.
	c.send("RETR 2")
	c.expect("+OK 39 octets")
	var raw []string
	for {
		l := c.expect("")
		if l == "." {
			break
		}
		raw = append(raw, l)
	}
	if !slices.Equal(raw, []string{"Subject: lf", "", "bare", "line feeds", "..dot"}) {
		t.Errorf("RETR 2 on the wire = %q", raw)
	}
	c.cmd("QUIT", "+OK")
}

func TestTop(t *testing.T) {
	e := newEnv(t)
	e.appendRaw(alice, []byte("Subject: top\nX-A: 1\n\nl1\n.l2\nl3\n"))
	e.appendRaw(alice, []byte("Subject: header only\nX-B: 2\n"))
	c := e.login(alice)
	for _, tc := range []struct {
		cmd, want string
	}{
		{"TOP 1 0", "Subject: top\r\nX-A: 1\r\n\r\n"},
		{"TOP 1 2", "Subject: top\r\nX-A: 1\r\n\r\nl1\r\n.l2\r\n"},
		{"TOP 1 99", "Subject: top\r\nX-A: 1\r\n\r\nl1\r\n.l2\r\nl3\r\n"},
		{"TOP 1 99999999999999999999", "Subject: top\r\nX-A: 1\r\n\r\nl1\r\n.l2\r\nl3\r\n"},
		{"TOP 2 5", "Subject: header only\r\nX-B: 2\r\n"},
	} {
		c.cmd(tc.cmd, "+OK")
		if got := string(c.multi()); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.cmd, got, tc.want)
		}
	}
	c.cmd("TOP 1", "-ERR usage")
	c.cmd("TOP 1 -1", "-ERR invalid line count")
	c.cmd("TOP 3 0", "-ERR no such message")
}

func TestUIDLStableAcrossRestart(t *testing.T) {
	e := newEnv(t)
	d1 := e.deliver(alice, msg("a", "a\n"))
	d2 := e.deliver(alice, msg("b", "b\n"))
	mb := e.inbox(alice)
	want := []string{
		fmt.Sprintf("1 %08x%08x", mb.UIDValidity, uint32(d1.UID)),
		fmt.Sprintf("2 %08x%08x", mb.UIDValidity, uint32(d2.UID)),
	}
	c := e.login(alice)
	c.cmd("UIDL", "+OK")
	if got := c.lines(); !slices.Equal(got, want) {
		t.Fatalf("UIDL = %q, want %q", got, want)
	}
	c.cmd("UIDL 2", "+OK "+want[1])
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")

	e.stop()
	e.start()
	d3 := e.deliver(alice, msg("c", "c\n"))
	c = e.login(alice)
	c.cmd("UIDL", "+OK")
	got := c.lines()
	want = []string{
		"1 " + strings.Fields(want[1])[1],
		fmt.Sprintf("2 %08x%08x", mb.UIDValidity, uint32(d3.UID)),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after restart UIDL = %q, want %q", got, want)
	}
}

// TestDeleCommitsOnlyAtQuit checks the store-level effect an IMAP
// session relies on: nothing changes in the INBOX (no change event, no
// expunged UID) until QUIT, and then the marked messages are expunged.
func TestDeleCommitsOnlyAtQuit(t *testing.T) {
	e := newEnv(t)
	d1 := e.deliver(alice, msg("a", "a\n"))
	e.deliver(alice, msg("b", "b\n"))
	d3 := e.deliver(alice, msg("c", "c\n"))
	mb := e.inbox(alice)
	ctx := context.Background()
	events, cancel := e.stack.Store.Subscribe(mb.Account)
	defer cancel()

	c := e.login(alice)
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 1", "-ERR message 1 already deleted")
	c.cmd("RETR 1", "-ERR message 1 already deleted")
	c.cmd("LIST 1", "-ERR message 1 already deleted")
	c.cmd("STAT", "+OK 2 ")
	c.cmd("RSET", "+OK")
	c.cmd("STAT", "+OK 3 ")
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 3", "+OK")
	c.cmd("LIST", "+OK")
	if l := c.lines(); len(l) != 1 || !strings.HasPrefix(l[0], "2 ") {
		t.Errorf("LIST after DELE = %q", l)
	}
	c.cmd("NOOP", "+OK")

	// (The events of the deliveries may come after Subscribe: a store
	// publishes them after answering the writer. They are not changes.)
	quiet := time.After(200 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case ev := <-events:
			if ev.Kind != store.EventMessages || ev.Mailbox != mb.ID || ev.ModSeq > mb.HighestModSeq {
				t.Fatalf("change event before QUIT: %+v", ev)
			}
		case <-quiet:
			waiting = false
		}
	}
	ch, err := e.stack.Store.Changes(ctx, mb.ID, mb.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Expunged) != 0 {
		t.Fatalf("expunged before QUIT: %v", ch.Expunged)
	}

	c.cmd("QUIT", "+OK "+"mail.example.test POP3 server signing off (1 messages left)")
	c.closed()
	select {
	case ev := <-events:
		if ev.Mailbox != mb.ID {
			t.Errorf("event for mailbox %d, want %d", ev.Mailbox, mb.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change event after QUIT")
	}
	ch, err = e.stack.Store.Changes(ctx, mb.ID, mb.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Expunged, []store.UID{d1.UID, d3.UID}) {
		t.Errorf("expunged after QUIT = %v, want %v", ch.Expunged, []store.UID{d1.UID, d3.UID})
	}
	if uids := e.inboxUIDs(alice); len(uids) != 1 {
		t.Errorf("INBOX holds %v", uids)
	}
}

func TestDroppedConnectionDeletesNothing(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, msg("a", "a\n"))
	e.deliver(alice, msg("b", "b\n"))
	c := e.login(alice)
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 2", "+OK")
	c.conn.Close()
	// The next session (once the server has noticed the hang-up and
	// freed the lock) sees both.
	c = e.loginOnceFree(alice)
	c.cmd("STAT", "+OK 2 ")
	c.cmd("QUIT", "+OK")
	if n := len(e.inboxUIDs(alice)); n != 2 {
		t.Errorf("INBOX has %d messages, want 2", n)
	}
}

func TestSnapshotAtLogin(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, msg("a", "a\n"))
	c := e.login(alice)
	e.deliver(alice, msg("b", "b\n"))
	c.cmd("STAT", "+OK 1 ")
	c.cmd("RETR 2", "-ERR no such message, only 1 messages in maildrop")
	c.cmd("QUIT", "+OK")
	c = e.login(alice)
	c.cmd("STAT", "+OK 2 ")
}

func TestMessageExpungedByAnotherClient(t *testing.T) {
	e := newEnv(t)
	d := e.deliver(alice, msg("a", "a\n"))
	e.deliver(alice, msg("b", "b\n"))
	c := e.login(alice)
	// An IMAP client expunges message 1 while POP3 holds its snapshot.
	if _, err := e.stack.Store.Expunge(context.Background(), e.inbox(alice).ID, []store.UID{d.UID}); err != nil {
		t.Fatal(err)
	}
	c.cmd("RETR 1", "-ERR message 1 was removed by another client")
	c.cmd("TOP 1 0", "-ERR message 1 was removed")
	c.cmd("STAT", "+OK 2 ")
	c.retr(2)
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	if n := len(e.inboxUIDs(alice)); n != 1 {
		t.Errorf("INBOX has %d messages, want 1", n)
	}
}

func TestPipelining(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.deliver(alice, msg("p"+strconv.Itoa(i), "body\n"))
	}
	c := e.login(alice)
	// RFC 2449 §6.6: many commands in one write, replies in order.
	var cmds []string
	for i := 1; i <= 5; i++ {
		cmds = append(cmds, "LIST "+strconv.Itoa(i), "RETR "+strconv.Itoa(i), "UIDL "+strconv.Itoa(i))
	}
	cmds = append(cmds, "STAT", "NOOP")
	c.send(strings.Join(cmds, "\r\n"))
	for i := 1; i <= 5; i++ {
		c.expect("+OK " + strconv.Itoa(i) + " ")
		c.expect("+OK ")
		c.multi()
		c.expect("+OK " + strconv.Itoa(i) + " ")
	}
	c.expect("+OK 5 ")
	c.expect("+OK")
}
