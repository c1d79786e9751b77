package auth_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/testenv"
)

const alice = "alice@" + testenv.Domain

// servers are SMTP submission, IMAP and POP3 over implicit TLS sharing
// one Authenticator, as in the app.
type servers struct {
	st               *testenv.Stack
	smtp, imap, pop3 string
}

func startOn(t *testing.T, st *testenv.Stack, a *auth.Authenticator) *servers {
	t.Helper()
	sv := &servers{st: st}
	listen := func(serve func(net.Listener) error, shutdown func(context.Context) error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go serve(ln)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutdown(ctx)
		})
		return ln.Addr().String()
	}
	sm := smtpd.New(smtpd.Options{Hostname: testenv.Hostname, TLS: st.ServerTLS, Deliverer: st.Deliverer,
		Resolver: st.Resolver, Auth: a, Config: config.SMTP{MaxErrors: 100}, Logger: st.Logger})
	sv.smtp = listen(sm.ServeSubmissions, sm.Shutdown)
	im := imapd.New(imapd.Options{Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: a,
		Deliverer: st.Deliverer, Logger: st.Logger})
	sv.imap = listen(func(ln net.Listener) error { return im.Serve(ln, true) }, im.Shutdown)
	po := pop3d.New(pop3d.Options{Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: a, Logger: st.Logger})
	sv.pop3 = listen(func(ln net.Listener) error { return po.Serve(ln, true) }, po.Shutdown)
	return sv
}

// line is a text-protocol client over TLS from a chosen loopback source
// address.
type line struct {
	t *testing.T
	c *tls.Conn
	r *bufio.Reader
}

func dialFrom(t *testing.T, sv *servers, addr, src string) *line {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := tls.DialWithDialer(d, "tcp", addr, sv.st.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &line{t: t, c: c, r: bufio.NewReader(c)}
}

// expect reads lines until one starts with prefix and returns it.
func (l *line) expect(prefix string) string {
	l.t.Helper()
	_ = l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []string
	for {
		s, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("want %q: %v after %q", prefix, err, seen)
		}
		if strings.HasPrefix(s, prefix) {
			return s
		}
		seen = append(seen, s)
	}
}

func (l *line) send(format string, args ...any) {
	_ = l.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(l.c, format+"\r\n", args...)
}

// login tries one login over proto from src and returns the reply line.
func login(t *testing.T, sv *servers, proto, src, pass string) string {
	t.Helper()
	switch proto {
	case "smtp":
		l := dialFrom(t, sv, sv.smtp, src)
		l.expect("220 ")
		l.send("EHLO client.test")
		l.expect("250 ")
		l.send("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+alice+"\x00"+pass)))
		return l.expect("")
	case "imap":
		l := dialFrom(t, sv, sv.imap, src)
		l.expect("* OK")
		l.send(`a LOGIN %s "%s"`, alice, pass)
		return l.expect("a ")
	default:
		l := dialFrom(t, sv, sv.pop3, src)
		l.expect("+OK")
		l.send("USER %s", alice)
		l.expect("+OK")
		l.send("PASS %s", pass)
		return l.expect("")
	}
}

// TestBlockAcrossProtocols: 20 wrong passwords from one address, spread
// over SMTP, IMAP and POP3, get it blocked on all three, while another
// address still logs in everywhere.
func TestBlockAcrossProtocols(t *testing.T) {
	a := (*auth.Authenticator)(nil)
	sv := startServersWith(t, func(st *testenv.Stack) *auth.Authenticator {
		a = auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams, FailuresPerIP: 20, Delay: time.Millisecond})
		return a
	})
	protos := []string{"smtp", "imap", "pop3"}
	for i := range 20 {
		p := protos[i%3]
		got := login(t, sv, p, "127.0.0.1", "wrong")
		if strings.HasPrefix(got, "235") || strings.HasPrefix(got, "a OK") || strings.HasPrefix(got, "+OK") {
			t.Fatalf("%s: wrong password accepted: %q", p, got)
		}
	}
	want := map[string]string{"smtp": "421 4.7.0", "imap": "a NO", "pop3": "-ERR [SYS/TEMP]"}
	for _, p := range protos {
		if got := login(t, sv, p, "127.0.0.1", testenv.Password); !strings.HasPrefix(got, want[p]) {
			t.Errorf("%s from the blocked address: %q, want %q", p, got, want[p])
		}
	}
	ok := map[string]string{"smtp": "235", "imap": "a OK", "pop3": "+OK"}
	for _, p := range protos {
		if got := login(t, sv, p, "127.0.0.2", testenv.Password); !strings.HasPrefix(got, ok[p]) {
			t.Errorf("%s from another address: %q, want %q", p, got, ok[p])
		}
	}
	bs, err := a.Blocks(context.Background())
	if err != nil || len(bs) != 1 || bs[0].Key != "ip:127.0.0.1" {
		t.Fatalf("blocks = %+v, %v; want ip:127.0.0.1", bs, err)
	}
	// Lifted by the admin: the address gets in again.
	if n, err := a.ClearBlock(context.Background(), "ip:127.0.0.1"); err != nil || n != 1 {
		t.Fatalf("ClearBlock = %d, %v", n, err)
	}
	if got := login(t, sv, "smtp", "127.0.0.1", testenv.Password); !strings.HasPrefix(got, "235") {
		t.Errorf("after clearing: %q", got)
	}
}

// startServersWith is startServers with an Authenticator made over the
// stack's store.
func startServersWith(t *testing.T, mk func(*testenv.Stack) *auth.Authenticator) *servers {
	t.Helper()
	st := testenv.NewStack(t, "alice")
	return startOn(t, st, mk(st))
}

// TestIPv6NetAndGuessing: failures from many addresses of one IPv6 /64
// block the network; a success does not reset an address that guessed
// several accounts; delays grow; a block survives a restart (a new
// Authenticator over the same store).
func TestIPv6NetAndGuessing(t *testing.T) {
	st := testenv.NewStack(t, "alice", "bob")
	ctx := context.Background()
	opts := auth.Options{Dir: st.Store, Params: testenv.FastParams, FailuresPerIP: 5, FailuresPerNet: 8, FailuresPerAccount: 100}
	a := auth.New(opts)
	for i := range 8 {
		ip := netipMust(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if _, err := a.Login(ctx, alice, "wrong", ip); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := a.Login(ctx, alice, testenv.Password, netipMust("2001:db8:1:2::ffff")); err != auth.ErrBlocked {
		t.Fatalf("same /64 after 8 failures: %v, want ErrBlocked", err)
	}
	if _, err := a.Login(ctx, alice, testenv.Password, netipMust("2001:db8:1:3::1")); err != nil {
		t.Fatalf("next /64: %v", err)
	}
	// A restart keeps the block.
	if _, err := auth.New(opts).Login(ctx, alice, testenv.Password, netipMust("2001:db8:1:2::9")); err != auth.ErrBlocked {
		t.Fatalf("after restart: %v, want ErrBlocked", err)
	}

	// 192.0.2.7 guesses four accounts, then logs in to one: still counted.
	g := netipMust("192.0.2.7")
	for _, u := range []string{"bob", "carol", "dave", "erin"} {
		a.Login(ctx, u+"@"+testenv.Domain, "guess", g)
	}
	if _, err := a.Login(ctx, alice, testenv.Password, g); err != nil {
		t.Fatal(err)
	}
	a.Login(ctx, "frank@"+testenv.Domain, "guess", g)
	if _, err := a.Login(ctx, alice, testenv.Password, g); err != auth.ErrBlocked {
		t.Fatalf("guesser after a success: %v, want ErrBlocked", err)
	}
	// A user who mistypes twice is forgiven by the success.
	u := netipMust("192.0.2.8")
	for range 4 {
		a.Login(ctx, alice, "typo", u)
	}
	if _, err := a.Login(ctx, alice, testenv.Password, u); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		a.Login(ctx, alice, "typo", u)
	}
	if _, err := a.Login(ctx, alice, testenv.Password, u); err != nil {
		t.Fatalf("forgiven typist: %v", err)
	}
}

// TestGrowingDelay: past the third failure each answer waits longer.
//
// Only lower bounds are measured on the real delays (a sleep never ends
// early, whereas a loaded machine may take any time to hash). That the
// first three failures are free and that MaxDelay caps the delay is
// asserted with a Delay so long that a wrong answer could not go
// unnoticed: a minute against the few milliseconds of a hash.
func TestGrowingDelay(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	a := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams, FailuresPerIP: 50, Delay: 40 * time.Millisecond, MaxDelay: 100 * time.Millisecond})
	ip := netipMust("192.0.2.9")
	var took []time.Duration
	for range 7 {
		start := time.Now()
		a.Login(context.Background(), alice, "wrong", ip)
		took = append(took, time.Since(start))
	}
	// Failures 1-3 free; 4: 40ms, 5: 80ms, 6 and 7: capped at 100ms.
	if took[3] < 40*time.Millisecond || took[4] < 80*time.Millisecond || took[5] < 100*time.Millisecond || took[6] < 100*time.Millisecond {
		t.Fatalf("delays %v", took)
	}

	const long = time.Minute
	// Failures 1-3 wait for nothing, however long Delay is.
	free := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams, FailuresPerIP: 50, Delay: long, MaxDelay: long})
	for i := range 3 {
		start := time.Now()
		free.Login(context.Background(), alice, "wrong", ip)
		if d := time.Since(start); d >= long {
			t.Fatalf("failure %d waited %v", i+1, d)
		}
	}
	// Failure 4 waits MaxDelay, not Delay.
	capped := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams, FailuresPerIP: 50, Delay: long, MaxDelay: 100 * time.Millisecond})
	for range 3 {
		capped.Login(context.Background(), alice, "wrong", ip)
	}
	start := time.Now()
	capped.Login(context.Background(), alice, "wrong", ip)
	if d := time.Since(start); d < 100*time.Millisecond || d >= long {
		t.Fatalf("fourth failure with MaxDelay 100ms, Delay %v: waited %v", long, d)
	}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
