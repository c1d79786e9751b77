package pop3d_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/pop3d"
	"mailhouse/internal/testenv"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) { o.MaxErrors = 100 })
	e.deliver(alice, msg("a", "a\n"))
	c := e.dialTLS()
	for _, tc := range [][2]string{
		{"FROB", "-ERR unknown command"},
		{"XYZZY 1", "-ERR unknown command"},
		{"RE\x01TR", "-ERR control character"},
		{"STAT", "-ERR STAT is not valid before login"},
		{"RETR 1", "-ERR RETR is not valid before login"},
		{"NOOP", "-ERR NOOP is not valid before login"},
		{"CAPA x", "-ERR CAPA takes no arguments"},
		{"USER " + strings.Repeat("u", 41), "-ERR argument too long"},
	} {
		c.cmd(tc[0], tc[1])
	}
	c.cmd("USER "+alice, "+OK")
	c.cmd("PASS "+testenv.Password, "+OK")
	for _, tc := range [][2]string{
		{"RETR", "-ERR usage: RETR message"},
		{"RETR 0", "-ERR no such message"},
		{"RETR 2", "-ERR no such message, only 1 messages in maildrop"},
		{"RETR -1", "-ERR invalid message number"},
		{"RETR +1", "-ERR invalid message number"},
		{"RETR 1x", "-ERR invalid message number"},
		{"RETR 99999999999999999999", "-ERR no such message"},
		{"DELE x", "-ERR invalid message number"},
		{"LIST 1 2", "-ERR usage"},
		{"STAT 1", "-ERR STAT takes no arguments"},
		{"STLS", "-ERR STLS is not valid after login"},
		{"PASS x", "-ERR PASS is not valid after login"},
		{"NOPE", "-ERR unknown command"},
	} {
		c.cmd(tc[0], tc[1])
	}
	// Case-insensitive keywords (RFC 2449 §3).
	c.cmd("stat", "+OK 1 ")
	c.cmd("Quit", "+OK")
}

func TestTooManyErrorsClose(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) { o.MaxErrors = 5 })
	c := e.dial()
	for range 4 {
		c.cmd("BOGUS", "-ERR unknown command")
	}
	c.cmd("BOGUS", "-ERR unknown command (too many errors, closing connection)")
	c.closed()
}

func TestLongLines(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	// RFC 2449 §4: 255 octets with CRLF.
	c.cmd("NOOP "+strings.Repeat("x", 250), "-ERR command line too long")
	c.cmd("CAPA", "+OK")
	c.lines()
	// Over the credential limit: read, thrown away, refused.
	c.cmd("PASS "+strings.Repeat("p", pop3d.MaxCredentialLine), "-ERR line too long")
	c.cmd("QUIT", "+OK")
	c.closed()

	// A line that never ends is not buffered without bound.
	c = e.dial()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	chunk := strings.Repeat("z", 8192)
	for range (pop3d.MaxDiscard / len(chunk)) + 2 {
		if _, err := io.WriteString(c.conn, chunk); err != nil {
			break
		}
	}
	c.closed()
}

func TestIdleTimeout(t *testing.T) {
	// A second: the TLS handshake and the login must fit in it on a
	// loaded machine.
	const idle = time.Second
	e := newEnv(t, func(o *pop3d.Options) { o.Config.IdleTimeout.Duration = idle })
	e.deliver(alice, msg("a", "a\n"))
	c := e.login(alice)
	// The time-out starts once the server has read DELE, after start
	// (a reading taken on the reply could come late on a loaded machine).
	start := time.Now()
	c.cmd("DELE 1", "+OK")
	// RFC 1939 §3: the session just closes, without UPDATE.
	c.closed()
	if d := time.Since(start); d < idle {
		t.Errorf("closed after %v, before the idle time-out", d)
	}
	if n := len(e.inboxUIDs(alice)); n != 1 {
		t.Errorf("INBOX has %d messages after a time-out, want 1", n)
	}
	// Before login too.
	c = e.dial()
	c.closed()
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, msg("a", "a\n"))
	c := e.login(alice)
	c.cmd("DELE 1", "+OK")
	idle := e.dial()
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR [SYS/TEMP] server shutting down")
	c.closed()
	idle.expect("-ERR [SYS/TEMP] server shutting down")
	idle.closed()
	for range 2 {
		if err := <-e.served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	}
	e.served <- nil // the cleanup waits for two results
	e.served <- nil
	if n := len(e.inboxUIDs(alice)); n != 1 {
		t.Errorf("INBOX has %d messages after shutdown, want 1 (DELE not committed)", n)
	}
	if _, err := net.Dial("tcp", e.plainAddr); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
}

func TestShutdownDeadline(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	// A client that never reads: Shutdown's context ends it hard. Fill
	// the socket buffers with CAPA replies the client does not read.
	go func() {
		for range 200000 {
			if _, err := io.WriteString(c.conn, "CAPA\r\n"); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.srv.Shutdown(ctx)
	t.Logf("Shutdown with a stuck writer: %v", err)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Shutdown took %v with a 300ms deadline", d)
	}
}

func TestBusy(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		pop3d.Busy(a, "too many connections\r\nfrom your address")
		a.Close()
	}()
	l, err := bufio.NewReader(b).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if l != "-ERR [SYS/TEMP] too many connections  from your address\r\n" {
		t.Errorf("Busy wrote %q", l)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) { o.HandshakeTimeout = 200 * time.Millisecond })
	// pop3s: a client that never says ClientHello.
	conn, err := net.Dial("tcp", e.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.closed()
	// STLS: the same after "+OK begin TLS negotiation".
	c = e.dial()
	c.cmd("STLS", "+OK")
	c.closed()
}

func TestWithoutTLS(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) { o.TLS = nil })
	if err := e.srv.Serve(nil, true); err == nil {
		t.Error("Serve with implicit TLS and no TLS config succeeded")
	}
	c := e.dial()
	c.cmd("CAPA", "+OK")
	for _, l := range c.lines() {
		if l == "STLS" || l == "USER" || strings.HasPrefix(l, "SASL") {
			t.Errorf("CAPA without TLS lists %q", l)
		}
	}
	c.cmd("STLS", "-ERR TLS is not available")
	c.cmd("USER "+alice, "-ERR plaintext logins are disabled")
}
