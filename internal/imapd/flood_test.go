package imapd_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/netx"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// TestFloodOneAddress: 1,000 connections from 127.0.0.1 that never speak
// hold at most their per-address share behind the app's LimitListener;
// the rest get Busy's "* BYE" and are closed, and a user on 127.0.0.2
// logs in and selects INBOX meanwhile. Loopback only, bounded in count
// and time.
func TestFloodOneAddress(t *testing.T) {
	const flood, perIP = 1000, 20
	ts := startServer(t, config.IMAP{})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = ts.srv.Serve(netx.LimitListener(raw, netx.Limits{PerIP: perIP, Total: 500}, imapd.Busy), false)
	}()
	addr := raw.Addr().String()

	held, refused := testutil.Flood(t, testutil.FloodOptions{Addr: addr, Count: flood, Wait: 2 * time.Second,
		Held: func(line string, _ error) bool { return strings.HasPrefix(line, "* OK") }, // greeted: a session
	})
	if h := held; h > perIP {
		t.Fatalf("one address holds %d sessions, limit %d", h, perIP)
	}
	if r := refused; r < flood-perIP {
		t.Fatalf("%d refused, want at least %d", r, flood-perIP)
	}

	// Meanwhile another address is served (go-imap's client).
	conn, err := (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: ts.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice(), testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestSlowLoris: a client sending a byte every 200 ms cannot hold a
// session past the time-outs: a command must be complete within the
// state's time-out (unauth_timeout before login, idle_timeout after),
// however steadily its bytes trickle in.
func TestSlowLoris(t *testing.T) {
	const timeout = time.Second
	ts := startServer(t, config.IMAP{
		UnauthTimeout: config.Duration{Duration: timeout},
		IdleTimeout:   config.Duration{Duration: 2 * timeout},
	})
	t.Run("before login", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.insecAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		d, said := testutil.SlowLoris(t, c, "a1 CAPABILITY ", 200*time.Millisecond, 10*timeout)
		if d > 6*timeout || !strings.Contains(said, "* BYE") {
			t.Errorf("lived %v, server said %q", d, said)
		}
	})
	t.Run("logged in", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.insecAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		c.Write([]byte("a1 LOGIN " + alice() + " \"" + testenv.Password + "\"\r\n"))
		for {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "a1 ") {
				if !strings.HasPrefix(l, "a1 OK") {
					t.Fatalf("login: %q", l)
				}
				break
			}
		}
		d, said := testutil.SlowLoris(t, c, "a2 NOOP a2 NOOP ", 200*time.Millisecond, 10*timeout)
		if d > 7*timeout || !strings.Contains(said, "* BYE") {
			t.Errorf("lived %v, server said %q", d, said)
		}
	})
}
