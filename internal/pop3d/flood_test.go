package pop3d_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// TestFloodOneAddress: 1,000 connections from 127.0.0.1 that never speak
// (a slow-loris flood) hold at most their per-address share; the rest
// are told -ERR [SYS/TEMP] and closed, and a user on 127.0.0.2 logs in
// and reads the maildrop meanwhile. Loopback only, bounded in count and
// time.
func TestFloodOneAddress(t *testing.T) {
	const flood, perIP = 1000, 20
	st := testenv.NewStack(t, "alice")
	srv := pop3d.New(pop3d.Options{Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: st.Auth,
		Logger: st.Logger, HandshakeTimeout: 20 * time.Second})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := netx.LimitListener(raw, netx.Limits{PerIP: perIP, Total: 500}, pop3d.Busy)
	go srv.Serve(ln, true)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	addr := raw.Addr().String()

	held, refused := testutil.Flood(t, testutil.FloodOptions{Addr: addr, Count: flood, Wait: 500 * time.Millisecond,
		Held: func(line string, err error) bool {
			// Accepted and waiting for a TLS handshake: the read times out;
			// refused: -ERR [SYS/TEMP], or closed.
			return !strings.HasPrefix(line, "-ERR") && err != nil && isTimeout(err)
		},
	})
	if h := held; h > perIP {
		t.Fatalf("one address holds %d connections, limit %d", h, perIP)
	}
	if r := refused; r < flood-perIP {
		t.Fatalf("%d refused, want at least %d", r, flood-perIP)
	}

	// Meanwhile another address is served.
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	c, err := tls.DialWithDialer(d, "tcp", addr, st.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, step := range []struct{ send, want string }{
		{"", "+OK"}, {"USER alice@" + testenv.Domain, "+OK"}, {"PASS " + testenv.Password, "+OK"}, {"STAT", "+OK 0 0"},
	} {
		if step.send != "" {
			c.Write([]byte(step.send + "\r\n"))
		}
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, step.want) {
			t.Fatalf("%q: got %q, %v; want %q", step.send, l, err, step.want)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
