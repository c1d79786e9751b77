package imapd_test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/netx"
	"mailhouse/internal/testenv"
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
			if strings.HasPrefix(line, "* OK") {
				held.Add(1) // greeted: a session
			} else {
				refused.Add(1) // * BYE busy, or closed
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

// slowLoris sends one byte of text every interval until the server
// closes the connection (or limit passes), and returns how long the
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
		d, said := slowLoris(t, c, "a1 CAPABILITY ", 200*time.Millisecond, 10*timeout)
		if d > 3*timeout || !strings.Contains(said, "* BYE") {
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
		d, said := slowLoris(t, c, "a2 NOOP a2 NOOP ", 200*time.Millisecond, 10*timeout)
		if d > 4*timeout || !strings.Contains(said, "* BYE") {
			t.Errorf("lived %v, server said %q", d, said)
		}
	})
}
