package smtpd_test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/smtpd"
)

// TestFloodOneAddress: 1,000 connections from 127.0.0.1 that never speak
// hold at most their per-address share behind the app's LimitListener;
// the rest get Busy's 421 and are closed, and a client on 127.0.0.2
// delivers mail meanwhile. Loopback only, bounded in count and time.
func TestFloodOneAddress(t *testing.T) {
	const flood, perIP = 1000, 20
	ts := startServer(t, nil, "alice")
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ts.srv.ServeMX(netx.LimitListener(raw, netx.Limits{PerIP: perIP, Total: 500}, smtpd.Busy)) }()
	addr := raw.Addr().String()

	var refused, held atomic.Int64
	var conns sync.Map
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	start := time.Now()
	for i := range flood {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				refused.Add(1)
				return
			}
			conns.Store(i, c)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			switch {
			case strings.HasPrefix(line, "220 "):
				held.Add(1) // greeted: a session, waiting for EHLO
			default:
				refused.Add(1) // 421 busy, or closed
			}
		}()
		if time.Since(start) > 60*time.Second {
			t.Fatal("flood took too long")
		}
	}
	wg.Wait()
	defer conns.Range(func(_, c any) bool { c.(net.Conn).Close(); return true })
	t.Logf("%d connections in %v: %d held, %d refused", flood, time.Since(start).Round(time.Millisecond), held.Load(), refused.Load())
	if h := held.Load(); h > perIP {
		t.Fatalf("one address holds %d sessions, limit %d", h, perIP)
	}
	if r := refused.Load(); r < flood-perIP {
		t.Fatalf("%d refused, want at least %d", r, flood-perIP)
	}

	// Meanwhile another address is served.
	conn, err := (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	defer conn.Close()
	c.expect("220 ")
	c.cmd("EHLO other.example", "250 ")
	c.mailTo(alice)
	c.cmd("DATA", "354 ")
	c.send(testMessage("sender@other.test", alice, "during the flood") + "\r\n.\r\n")
	c.expect("250 ")
	ts.wantInbox(t, alice, 1)
}

// slowLoris sends one byte of text every interval until the server
// closes the connection or limit passes, and returns how long the
// connection lived and what the server said.
func slowLoris(t *testing.T, c net.Conn, text string, interval, limit time.Duration) (time.Duration, string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 4096)
		var all strings.Builder
		for {
			_ = c.SetReadDeadline(time.Now().Add(limit))
			n, err := c.Read(b)
			all.Write(b[:n])
			if err != nil {
				got <- all.String()
				return
			}
		}
	}()
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case s := <-got:
			return time.Since(start), s
		case <-time.After(interval):
		}
		if time.Since(start) > limit {
			t.Fatalf("slow client still connected after %v", limit)
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte{text[i%len(text)]})
	}
}

// TestSlowLoris: a client sending a byte every 200 ms cannot hold a
// session past the time-outs: a command line must be complete within
// command_timeout, a message within data_timeout, however steadily the
// bytes trickle in.
func TestSlowLoris(t *testing.T) {
	const timeout = time.Second
	ts := startServer(t, func(o *smtpd.Options) {
		o.Config.CommandTimeout.Duration = timeout
		o.Config.DataTimeout.Duration = timeout
	}, "alice")

	t.Run("command", func(t *testing.T) {
		c := dialRaw(t, ts.mx)
		d, said := slowLoris(t, c.conn, "EHLO slowly.example.", 200*time.Millisecond, 10*timeout)
		if d > 3*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("command slow-loris lived %v, server said %q", d, said)
		}
	})
	t.Run("command after STARTTLS", func(t *testing.T) {
		c := dialRaw(t, ts.sub)
		c.cmd("EHLO client.example", "250 ")
		c.startTLS(ts.ClientTLS)
		d, said := slowLoris(t, c.conn, "EHLO slowly.example.", 200*time.Millisecond, 10*timeout)
		if d > 3*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("command slow-loris lived %v, server said %q", d, said)
		}
	})
	t.Run("data", func(t *testing.T) {
		c := dialRaw(t, ts.mx)
		c.cmd("EHLO client.example", "250 ")
		c.mailTo(alice)
		c.cmd("DATA", "354 ")
		d, said := slowLoris(t, c.conn, "Subject: slow\r\n\r\nbody line\r\n", 200*time.Millisecond, 10*timeout)
		if d > 3*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("data slow-loris lived %v, server said %q", d, said)
		}
		ts.wantInbox(t, alice, 0)
	})
}
