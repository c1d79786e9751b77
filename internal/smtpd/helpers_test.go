package smtpd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/message"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// testServer is a Server on 127.0.0.1 with all three listeners, on top
// of a real store.
type testServer struct {
	*testenv.Stack
	srv             *smtpd.Server
	store           *observedStore
	mx, sub, sub465 string
}

// observedStore is the real store, with the deliveries counted (to see
// that fan-out stores one body) and an optional injected failure.
type observedStore struct {
	store.Store
	mu         sync.Mutex
	deliveries []store.Delivery
	fail       error
}

func (o *observedStore) Deliver(ctx context.Context, d store.Delivery) ([]store.Delivered, error) {
	o.mu.Lock()
	fail := o.fail
	if fail == nil {
		o.deliveries = append(o.deliveries, d)
	}
	o.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return o.Store.Deliver(ctx, d)
}

func (o *observedStore) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.deliveries)
}

// startServer starts a Server for users (local parts in example.test);
// tune may change the options before New.
func startServer(t testing.TB, tune func(*smtpd.Options), users ...string) *testServer {
	t.Helper()
	st := testenv.NewStack(t, users...)
	obs := &observedStore{Store: st.Store}
	d := delivery.New(delivery.Options{
		Store: obs, Resolver: st.Resolver, Logger: st.Logger, Limits: st.Store.(store.Limits),
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	o := smtpd.Options{
		Hostname:  testenv.Hostname,
		TLS:       st.ServerTLS,
		Deliverer: d,
		Resolver:  st.Resolver,
		Auth:      st.Auth,
		Config: config.SMTP{
			CommandTimeout: config.Duration{Duration: 10 * time.Second},
			DataTimeout:    config.Duration{Duration: 10 * time.Second},
		},
		Logger: st.Logger,
	}
	if tune != nil {
		tune(&o)
	}
	ts := &testServer{Stack: st, srv: smtpd.New(o), store: obs}
	var wg sync.WaitGroup
	listen := func(serve func(net.Listener) error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// ErrServerClosed: the test ended before this goroutine ran.
			if err := serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
				t.Errorf("serve: %v", err)
			}
		}()
		return ln.Addr().String()
	}
	ts.mx = listen(ts.srv.ServeMX)
	ts.sub = listen(ts.srv.ServeSubmission)
	ts.sub465 = listen(ts.srv.ServeSubmissions)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("shutdown: %v", err)
		}
		wg.Wait()
	})
	return ts
}

// addAlias adds an alias (address or "@domain") to targets.
func (ts *testServer) addAlias(t testing.TB, addr string, targets ...string) {
	t.Helper()
	if err := ts.Store.AddAlias(context.Background(), store.Alias{Address: addr, Targets: targets}); err != nil {
		t.Fatal(err)
	}
}

// inbox returns every message in an account's INBOX, as stored.
func (ts *testServer) inbox(t testing.TB, addr string) [][]byte {
	t.Helper()
	ctx := context.Background()
	mb := ts.Mailbox(t, addr, "INBOX")
	metas, err := ts.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range metas {
		b, err := ts.Store.ReadMessage(ctx, mb.ID, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// wantInbox checks that an account's INBOX holds n messages and returns
// the last one, as stored.
func (ts *testServer) wantInbox(t testing.TB, addr string, n int) []byte {
	t.Helper()
	ctx := context.Background()
	mb := ts.Mailbox(t, addr, "INBOX")
	metas, err := ts.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != n {
		t.Fatalf("%s INBOX has %d messages, want %d", addr, len(metas), n)
	}
	if n == 0 {
		return nil
	}
	b, err := ts.Store.ReadMessage(ctx, mb.ID, metas[n-1].UID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawClient speaks SMTP byte by byte: the tiny test language for what
// real clients will not send (bare LF, NUL, pipelined injections).
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 ")
	return c
}

// send writes s as is.
func (c *rawClient) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply (all its lines).
func (c *rawClient) reply() (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var all strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		all.WriteString(line)
		if err != nil {
			return all.String(), err
		}
		if len(line) < 4 || line[3] != '-' {
			return all.String(), nil
		}
	}
}

// expect reads a reply whose last line starts with prefix.
func (c *rawClient) expect(prefix string) string {
	c.t.Helper()
	r, err := c.reply()
	lines := strings.Split(strings.TrimRight(r, "\r\n"), "\r\n")
	if err != nil || !strings.HasPrefix(lines[len(lines)-1], prefix) {
		c.t.Fatalf("got reply %q (err %v), want %q...", r, err, prefix)
	}
	return r
}

// cmd sends a command line and expects a reply.
func (c *rawClient) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(prefix)
}

// expectClosed checks that the server closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadString('\n')
	if err == nil {
		c.t.Fatalf("connection still open, got %q", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open (read timed out)")
	}
}

// startTLS upgrades the connection.
func (c *rawClient) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.cmd("STARTTLS", "220 ")
	c.tlsHandshake(cfg)
}

// tlsHandshake starts TLS on the connection, dropping anything buffered.
func (c *rawClient) tlsHandshake(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

// dialTLS connects to an implicit-TLS port.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) *rawClient {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 ")
	return c
}

// login runs EHLO and AUTH PLAIN on an encrypted connection.
func (c *rawClient) login(user, pass string) {
	c.t.Helper()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("AUTH PLAIN "+plainResponse(user, pass), "235 ")
}

func plainResponse(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

// dotStuff prepares message bytes for DATA (RFC 5321 §4.5.2) and adds
// the end marker.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	atStart := true
	for _, c := range msg {
		if atStart && c == '.' {
			b.WriteByte('.')
		}
		b.WriteByte(c)
		atStart = c == '\n'
	}
	if !atStart {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// testMessage is a small well-formed message.
func testMessage(from, to, subject string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@client.example>\r\n\r\nHello.\r\n",
		from, to, subject, time.Now().UnixNano())
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
