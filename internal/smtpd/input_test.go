package smtpd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/smtpd"
)

// Bare CR, bare LF and NUL in message data are refused; the reply comes
// once, after the real end of data, so nothing "smuggled" inside runs as
// a command (SMTP smuggling, CVE-2023-51764 and kin). A bare CR also ends
// the connection at once.
//
// go-smtp's DATA reader misses the end of data when a bare CR comes just
// before it ("\r\r\n.\r\n"): such a message is refused only when the
// DATA time-out fires, so this test keeps that time-out short.
func TestBadBytesAndSmuggling(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) {
		o.Config.MaxErrors = 100
		o.Config.DataTimeout.Duration = 500 * time.Millisecond
	}, "alice", "bob")
	smuggled := "MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nFrom: ceo@example.test\r\n\r\nsmuggled\r\n"
	cases := []struct {
		name, data string
		closes     bool
	}{
		{"bare LF line", "Subject: x\r\n\r\nline one\nline two\r\n", false},
		{"NUL byte", "Subject: x\r\n\r\nnul \x00 here\r\n", false},
		{"LF.LF", "Subject: x\r\n\r\nbody\n.\n" + smuggled, false},
		{"CRLF.LF", "Subject: x\r\n\r\nbody\r\n.\n" + smuggled, false},
		{"LF.CRLF", "Subject: x\r\n\r\nbody\n.\r\n" + smuggled, false},
		{"header bare LF", "Subject: x\nFrom: a@b\r\n\r\nbody\r\n", false},
		{"all LF", "Subject: x\n\nbody\n", false},
		{"bare CR line", "Subject: x\r\n\r\nline one\rline two\r\n", true},
		{"ends in CR", "Subject: x\r\n\r\nbody\r", true},
		{"CR.CR", "Subject: x\r\n\r\nbody\r.\r" + smuggled, true},
		{"CR only", "Subject: x\r\rbody\r", true},
	}
	var c *rawClient
	for _, tc := range cases {
		if c == nil {
			c = dialRaw(t, ts.mx)
			c.cmd("EHLO client.example", "250 ")
		}
		c.mailTo(alice)
		c.cmd("DATA", "354 ")
		c.send(tc.data + "\r\n.\r\n")
		c.expect("554 5.6.0")
		if tc.closes {
			c.expectClosed()
			c = nil
			continue
		}
		// The very next reply belongs to the next command: nothing from
		// inside the data was run.
		c.cmd("NOOP", "250 ")
	}
	ts.wantInbox(t, alice, 0)
	ts.wantInbox(t, bob, 0)

	// go-smtp's DATA reader drops ".\r" at the start of a line when no LF
	// follows (net/textproto keeps the CR), so this bare CR never reaches
	// the check. The message is still one message, CRLF-clean, and the
	// "smuggled" text stays inside it. These messages are stored, within
	// the DATA time-out: a server with the default one takes them (a
	// loaded machine's fsync may not fit in 500 ms).
	ts = startServer(t, func(o *smtpd.Options) { o.Config.MaxErrors = 100 }, "alice", "bob")
	c = dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.mailTo(alice)
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nbody\r\n.\r" + smuggled + "\r\n.\r\n")
	c.expect("250 ")
	c.cmd("NOOP", "250 ")
	got := string(ts.wantInbox(t, alice, 1))
	if !strings.HasSuffix(got, "\r\nbody\r\n"+smuggled+"\r\n") {
		t.Errorf("stored %q", got)
	}
	ts.wantInbox(t, bob, 0)

	// A clean message on the same connection still goes through.
	c.mailTo(alice)
	c.cmd("DATA", "354 ")
	c.send("Subject: clean\r\n\r\n..leading dot, stuffed\r\n")
	c.send("..\r\n.\r\n")
	c.expect("250 ")
	got = string(ts.wantInbox(t, alice, 2))
	if !strings.HasSuffix(got, "Subject: clean\r\n\r\n.leading dot, stuffed\r\n.\r\n") {
		t.Errorf("stored:\n%q", got)
	}
}

// RFC 3207 §4.2 / CVE-2011-0411: commands pipelined behind STARTTLS in
// plaintext are discarded, not run inside the TLS session.
func TestSTARTTLSInjection(t *testing.T) {
	ts := startServer(t, nil, "alice")
	for _, addr := range []string{ts.mx, ts.sub} {
		c := dialRaw(t, addr)
		c.cmd("EHLO client.example", "250 ")
		c.send("STARTTLS\r\nMAIL FROM:<evil@other.test>\r\nRCPT TO:<alice@example.test>\r\n")
		c.expect("220 ")
		c.tlsHandshake(ts.ClientTLS)
		r := c.cmd("EHLO client.example", "250 ")
		if !strings.HasPrefix(r, "250-") {
			t.Fatalf("first reply in TLS is not EHLO's: %q", r)
		}
		c.cmd("RCPT TO:<alice@example.test>", "502 5.5.1") // no MAIL was run
		c.cmd("QUIT", "221 ")
	}
	ts.wantInbox(t, alice, 0)
}

func TestPipelining(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.send("MAIL FROM:<sender@other.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
	for _, want := range []string{"250 ", "250 ", "550 5.1.1", "250 ", "354 "} {
		c.expect(want)
	}
	c.send("Subject: pipelined\r\n\r\nx\r\n.\r\nRSET\r\nQUIT\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("221 ")
	ts.wantInbox(t, alice, 1)
	ts.wantInbox(t, bob, 1)
}

// CHUNKING (RFC 3030): BDAT delivers the same way, and is checked the
// same way.
func TestBDAT(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxMessageBytes = 1000 }, "alice")
	c := dialRaw(t, ts.mx)
	r := c.cmd("EHLO client.example", "250 ")
	if !strings.Contains(r, "CHUNKING") {
		t.Fatalf("no CHUNKING in %q", r)
	}
	part1, part2 := "Subject: chunks\r\n\r\nfirst ", "and second\r\n"
	c.mailTo(alice)
	c.send(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	c.expect("250 ")
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	c.expect("250 ")
	got := string(ts.wantInbox(t, alice, 1))
	if !strings.HasSuffix(got, "\r\n"+part1+part2) {
		t.Errorf("stored %q", got)
	}
	// Bare LF over BDAT.
	c.mailTo(alice)
	bad := "Subject: x\n\nbody\n"
	c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(bad), bad))
	c.expect("554 5.6.0")
	// Over the size limit, in one chunk and over several.
	c.mailTo(alice)
	c.send(fmt.Sprintf("BDAT 1200 LAST\r\n%s", strings.Repeat("x", 1200)))
	c.expect("552 5.3.4")
	c.mailTo(alice)
	chunk := strings.Repeat("y", 598) + "\r\n"
	c.send(fmt.Sprintf("BDAT 600\r\n%s", chunk))
	c.expect("250 ")
	c.send(fmt.Sprintf("BDAT 600 LAST\r\n%s", chunk))
	c.expect("552 5.3.4")
	c.cmd("NOOP", "250 ")
	ts.wantInbox(t, alice, 1)
}

// A failure to store gives 451 4.3.0 and leaves nothing visible in any
// recipient's mailbox; the retry succeeds.
func TestStoreFailure(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob", "carol")
	ts.addAlias(t, "team@example.test", alice, bob, carol)
	ts.store.mu.Lock()
	ts.store.fail = errors.New("disk on fire")
	ts.store.mu.Unlock()
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.mailTo("team@example.test")
	c.cmd("DATA", "354 ")
	c.send("Subject: retry me\r\n\r\nx\r\n.\r\n")
	c.expect("451 4.3.0")
	for _, u := range []string{alice, bob, carol} {
		ts.wantInbox(t, u, 0)
	}
	ts.store.mu.Lock()
	ts.store.fail = nil
	ts.store.mu.Unlock()
	c.mailTo("team@example.test")
	c.cmd("DATA", "354 ")
	c.send("Subject: retry me\r\n\r\nx\r\n.\r\n")
	c.expect("250 ")
	for _, u := range []string{alice, bob, carol} {
		ts.wantInbox(t, u, 1)
	}
}

// A forward to another domain needs the outbound queue; until it exists
// the recipient is deferred (451), never dropped.
func TestExternalForwardDeferred(t *testing.T) {
	ts := startServer(t, nil, "alice")
	ts.addAlias(t, "fwd@example.test", alice, "someone@other.test")
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@other.test>", "250 ")
	c.cmd("RCPT TO:<fwd@example.test>", "451 4.4.0")
	c.cmd("RCPT TO:<alice@example.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("250 ")
	ts.wantInbox(t, alice, 1)
}

// Shutdown says goodbye to idle sessions (plaintext and TLS) and lets a
// message in progress finish with its 250.
func TestShutdown(t *testing.T) {
	ts := startServer(t, nil, "alice")
	idle := dialRaw(t, ts.mx)
	idle.cmd("EHLO client.example", "250 ")
	idleTLS := dialTLS(t, ts.sub465, ts.ClientTLS)
	idleTLS.cmd("EHLO client.example", "250 ")
	afterSTARTTLS := dialRaw(t, ts.sub)
	afterSTARTTLS.cmd("EHLO client.example", "250 ")
	afterSTARTTLS.startTLS(ts.ClientTLS)
	afterSTARTTLS.cmd("EHLO client.example", "250 ")
	busy := dialRaw(t, ts.mx)
	busy.cmd("EHLO client.example", "250 ")
	busy.mailTo(alice)
	busy.cmd("DATA", "354 ")
	busy.send("Subject: in flight\r\n\r\nfirst part\r\n")
	time.Sleep(100 * time.Millisecond)

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	for _, c := range []*rawClient{idle, idleTLS, afterSTARTTLS} {
		c.expect("421 4.3.2")
		c.expectClosed()
	}
	time.Sleep(100 * time.Millisecond)
	busy.send("second part\r\n.\r\n")
	busy.expect("250 ")
	busy.expectClosed()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	ts.wantInbox(t, alice, 1)
}

// When the shutdown context ends first, the remaining connections are
// closed and Shutdown reports it.
func TestShutdownTimeout(t *testing.T) {
	ts := startServer(t, nil, "alice")
	busy := dialRaw(t, ts.mx)
	busy.cmd("EHLO client.example", "250 ")
	busy.mailTo(alice)
	busy.cmd("DATA", "354 ")
	busy.send("Subject: stalled\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	busy.expectClosed()
	ts.wantInbox(t, alice, 0)
}

// A client that hangs up in the middle of a BDAT transfer does not
// disturb the server (go-smtp v0.25.1 may log a recovered panic for it,
// see FuzzSMTPSession).
func TestBDATHangUp(t *testing.T) {
	ts := startServer(t, nil, "alice")
	for _, tail := range []string{"BDAT 0\r\n", "BDAT 10\r\nabc", "BDAT 3\r\nabc", "DATA\r\nSubject: x\r\n"} {
		c := dialRaw(t, ts.mx)
		c.cmd("EHLO client.example", "250 ")
		c.mailTo(alice)
		c.send(tail)
		c.conn.Close()
	}
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.mailTo(alice)
	c.send("BDAT 17 LAST\r\nSubject: fine\r\n\r\n")
	c.expect("250 ")
	got := string(ts.wantInbox(t, alice, 1))
	if !strings.HasSuffix(got, "\r\nSubject: fine\r\n\r\n") {
		t.Errorf("stored %q", got)
	}
}
