package smtpd_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/testutil"
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

	held, refused := testutil.Flood(t, testutil.FloodOptions{Addr: addr, Count: flood, Wait: 2 * time.Second,
		Held: func(line string, _ error) bool { return strings.HasPrefix(line, "220 ") }, // greeted: a session
	})
	if h := held; h > perIP {
		t.Fatalf("one address holds %d sessions, limit %d", h, perIP)
	}
	if r := refused; r < flood-perIP {
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
		d, said := testutil.SlowLoris(t, c.conn, "EHLO slowly.example.", 200*time.Millisecond, 10*timeout)
		if d > 6*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("command slow-loris lived %v, server said %q", d, said)
		}
	})
	t.Run("command after STARTTLS", func(t *testing.T) {
		c := dialRaw(t, ts.sub)
		c.cmd("EHLO client.example", "250 ")
		c.startTLS(ts.ClientTLS)
		d, said := testutil.SlowLoris(t, c.conn, "EHLO slowly.example.", 200*time.Millisecond, 10*timeout)
		if d > 6*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("command slow-loris lived %v, server said %q", d, said)
		}
	})
	t.Run("data", func(t *testing.T) {
		c := dialRaw(t, ts.mx)
		c.cmd("EHLO client.example", "250 ")
		c.mailTo(alice)
		c.cmd("DATA", "354 ")
		d, said := testutil.SlowLoris(t, c.conn, "Subject: slow\r\n\r\nbody line\r\n", 200*time.Millisecond, 10*timeout)
		if d > 6*timeout || !strings.Contains(said, "421 4.4.2") {
			t.Errorf("data slow-loris lived %v, server said %q", d, said)
		}
		ts.wantInbox(t, alice, 0)
	})
}
