package smtpd_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/smtpd"
)

// mailTo starts a transaction on port 25 for one recipient.
func (c *rawClient) mailTo(rcpt string) {
	c.t.Helper()
	c.cmd("MAIL FROM:<sender@other.test>", "250 ")
	c.cmd("RCPT TO:<"+rcpt+">", "250 ")
}

func TestLineTooLong(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxLineLength = 1000 }, "alice")
	t.Run("command", func(t *testing.T) {
		c := dialRaw(t, ts.mx)
		c.cmd("EHLO client.example", "250 ")
		c.cmd("NOOP "+strings.Repeat("x", 900), "250 ") // under the limit
		c.send("NOOP " + strings.Repeat("x", 1100) + "\r\n")
		c.expect("500 5.4.0")
		c.expectClosed()
	})
	t.Run("data", func(t *testing.T) {
		c := dialRaw(t, ts.mx)
		c.cmd("EHLO client.example", "250 ")
		c.mailTo(alice)
		c.cmd("DATA", "354 ")
		c.send("Subject: long\r\n\r\n" + strings.Repeat("y", 1100) + "\r\n.\r\n")
		c.expect("500 5.5.2")
		c.expectClosed()
		ts.wantInbox(t, alice, 0)
	})
}

func TestTooManyRecipients(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxRecipients = 3 }, "alice", "bob", "carol")
	ts.addAlias(t, "dave@example.test", alice)
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.mailTo(alice)
	c.cmd("RCPT TO:<bob@example.test>", "250 ")
	c.cmd("RCPT TO:<carol@example.test>", "250 ")
	c.cmd("RCPT TO:<dave@example.test>", "452 4.5.3")
	c.cmd("DATA", "354 ")
	c.send("Subject: three\r\n\r\nx\r\n.\r\n")
	c.expect("250 ")
	for _, u := range []string{alice, bob, carol} {
		ts.wantInbox(t, u, 1)
	}
}

func TestCommandTimeout(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.CommandTimeout.Duration = 300 * time.Millisecond })
	c := dialRaw(t, ts.mx)
	// The time-out starts once the server has read EHLO, after start
	// (a reading taken on the reply could come late on a loaded machine).
	start := time.Now()
	c.cmd("EHLO client.example", "250 ")
	c.expect("421 4.4.2")
	c.expectClosed()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("timed out after %v", d)
	}
}

func TestDataTimeout(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.DataTimeout.Duration = 300 * time.Millisecond }, "alice")
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.mailTo(alice)
	c.cmd("DATA", "354 ")
	c.send("Subject: slow\r\n\r\nfirst line, then nothing\r\n")
	c.expect("421 4.4.2")
	c.expectClosed()
	ts.wantInbox(t, alice, 0)
}

// After MaxErrors refusals the session ends with 421.
func TestTooManyErrors(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxErrors = 3 }, "alice")
	c := dialRaw(t, ts.mx)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@other.test>", "250 ")
	c.cmd("RCPT TO:<nobody1@example.test>", "550 5.1.1")
	c.cmd("RCPT TO:<relay@other.test>", "554 5.7.1")
	// Pipelined commands after the last reply are not answered.
	c.send("RCPT TO:<nobody2@example.test>\r\nRCPT TO:<alice@example.test>\r\n")
	c.expect("421 4.7.0")
	c.expectClosed()
}

// Connections per client address are limited by the app's
// netx.LimitListener; the refused one gets Busy's 421.
func TestConnectionsPerIP(t *testing.T) {
	ts := startServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := netx.LimitListener(ln, netx.Limits{PerIP: 2, Total: 100}, smtpd.Busy)
	go func() { _ = ts.srv.ServeMX(lim) }()
	addr := ln.Addr().String()
	c1 := dialRaw(t, addr)
	c2 := dialRaw(t, addr)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c3 := &rawClient{t: t, conn: conn}
	c3.r = newReader(conn)
	c3.expect("421 4.7.0")
	c3.expectClosed()
	// Once one closes, a new connection is served.
	c1.cmd("QUIT", "221 ")
	c1.expectClosed()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c4 := dialAny(t, addr)
		if strings.HasPrefix(c4, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused: %q", c4)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2.cmd("NOOP", "250 ")
}

// dialAny connects and returns the greeting line.
func dialAny(t *testing.T, addr string) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := newReader(conn).ReadString('\n')
	return line
}
