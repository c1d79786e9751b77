package pop3d_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

const (
	alice = "alice@" + testenv.Domain
	bob   = "bob@" + testenv.Domain
)

// env is a running POP3 server on loopback over a real store: one
// plaintext (STLS) listener and one implicit-TLS listener.
type env struct {
	t         testing.TB
	stack     *testenv.Stack
	srv       *pop3d.Server
	plainAddr string
	tlsAddr   string
	served    chan error
}

func newEnv(t testing.TB, opts ...func(*pop3d.Options)) *env {
	t.Helper()
	st := testenv.NewStack(t, "alice", "bob")
	e := &env{t: t, stack: st}
	e.start(opts...)
	return e
}

// start starts a (new) server on the env's stack.
func (e *env) start(opts ...func(*pop3d.Options)) {
	e.t.Helper()
	o := pop3d.Options{
		Hostname: testenv.Hostname,
		TLS:      e.stack.ServerTLS,
		Store:    e.stack.Store,
		Auth:     e.stack.Auth,
		Logger:   e.stack.Logger,
	}
	for _, f := range opts {
		f(&o)
	}
	e.srv = pop3d.New(o)
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.plainAddr, e.tlsAddr = plain.Addr().String(), tl.Addr().String()
	served := make(chan error, 2)
	e.served = served
	srv := e.srv
	go func() { served <- srv.Serve(plain, false) }()
	if o.TLS != nil {
		go func() { served <- srv.Serve(tl, true) }()
	} else {
		tl.Close()
		served <- nil
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			e.t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; err != nil {
				e.t.Errorf("Serve: %v", err)
			}
		}
	})
}

// stop shuts the server down (a "restart" is stop then start).
func (e *env) stop() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// deliver delivers a message to a local address as SMTP would (CRLF,
// trace prefix).
func (e *env) deliver(to string, data string) store.Delivered {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.stack.Deliverer.Resolve(ctx, to)
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := e.stack.Deliverer.Deliver(ctx, delivery.Envelope{
		From: "carol@example.org", Recipients: []directory.Resolution{res}, Data: []byte(data),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return got.Local[0]
}

// appendRaw stores bytes as given in an account's INBOX, as IMAP APPEND
// would (bare LFs and all).
func (e *env) appendRaw(address string, data []byte) store.Delivered {
	e.t.Helper()
	mb := e.stack.Mailbox(e.t, address, "INBOX")
	d, err := e.stack.Deliverer.Append(context.Background(), mb.ID, nil, time.Time{}, data)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) inbox(address string) store.Mailbox {
	e.t.Helper()
	return e.stack.Mailbox(e.t, address, "INBOX")
}

func (e *env) inboxUIDs(address string) []store.UID {
	e.t.Helper()
	msgs, err := e.stack.Store.ListMessages(context.Background(), e.inbox(address).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var uids []store.UID
	for _, m := range msgs {
		uids = append(uids, m.UID)
	}
	return uids
}

// client is a tiny POP3 test client: c.cmd("STAT", "+OK 2 ").
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects to the plaintext listener and reads the greeting.
func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.plainAddr)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, conn: c, r: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	cl.expect("+OK ")
	return cl
}

// dialTLS connects to the implicit-TLS listener and reads the greeting.
func (e *env) dialTLS() *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tlsAddr, e.stack.ClientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &client{t: e.t, conn: c, r: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	cl.expect("+OK ")
	return cl
}

// login opens a pop3s session for address with USER/PASS.
func (e *env) login(address string) *client {
	e.t.Helper()
	c := e.dialTLS()
	c.cmd("USER "+address, "+OK")
	c.cmd("PASS "+testenv.Password, "+OK")
	return c
}

// loginOnceFree logs in as soon as the maildrop lock is free: a dropped
// session frees it once the server notices the hang-up, a moment later
// (up to 15 s on a loaded machine). Until then PASS says IN-USE.
func (e *env) loginOnceFree(address string) *client {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := e.dialTLS()
		c.cmd("USER "+address, "+OK")
		c.send("PASS " + testenv.Password)
		l := c.expect("")
		if strings.HasPrefix(l, "+OK") {
			return c
		}
		if !strings.HasPrefix(l, "-ERR [IN-USE]") || time.Now().After(deadline) {
			e.t.Fatalf("PASS while the lock may be held: %q", l)
		}
		c.conn.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// stls upgrades a plaintext session.
func (c *client) stls(cfg *tls.Config) {
	c.t.Helper()
	c.cmd("STLS", "+OK")
	c.stlsHandshake(cfg)
}

// stlsHandshake starts TLS after the server's +OK to STLS.
func (c *client) stlsHandshake(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func (c *client) send(line string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *client) readLine() (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		return l, err
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("reply line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n"), nil
}

// expect reads a line that must start with prefix.
func (c *client) expect(prefix string) string {
	c.t.Helper()
	l, err := c.readLine()
	if err != nil {
		c.t.Fatalf("waiting for %q: %v (got %q)", prefix, err, l)
	}
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want a line starting with %q", l, prefix)
	}
	return l
}

// cmd sends a command and expects a reply starting with prefix.
func (c *client) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// multi reads a multi-line body up to ".", removing dot-stuffing, and
// returns it with CRLF line endings.
func (c *client) multi() []byte {
	c.t.Helper()
	var b bytes.Buffer
	for {
		l, err := c.readLine()
		if err != nil {
			c.t.Fatalf("multi-line reply: %v", err)
		}
		if l == "." {
			return b.Bytes()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
		b.WriteString("\r\n")
	}
}

// lines is multi() split into lines.
func (c *client) lines() []string {
	c.t.Helper()
	s := strings.TrimSuffix(string(c.multi()), "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\r\n")
}

// retr fetches message n; it checks that the octet count announced in
// "+OK n octets" is what arrived.
func (c *client) retr(n int) []byte {
	c.t.Helper()
	ok := c.cmd("RETR "+strconv.Itoa(n), "+OK ")
	body := c.multi()
	f := strings.Fields(ok)
	if len(f) < 2 {
		c.t.Fatalf("RETR reply %q has no size", ok)
	}
	if size, _ := strconv.Atoi(f[1]); size != len(body) {
		c.t.Fatalf("RETR %d announced %d octets, sent %d", n, size, len(body))
	}
	return body
}

// closed waits for the server to close the connection.
func (c *client) closed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c.r)
	if len(b) > 0 {
		c.t.Fatalf("expected the connection to close, got %q", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open")
	}
}

func plainIR(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

// crlf turns LF line endings into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// msg builds a small CRLF message.
func msg(subject, body string) string {
	return crlf("From: carol@example.org\nTo: " + alice + "\nSubject: " + subject +
		"\nMessage-ID: <" + subject + "@example.org>\n\n" + body)
}

// expunge removes a message as an IMAP client would.
func (e *env) expunge(address string, uid store.UID) {
	e.t.Helper()
	if _, err := e.stack.Store.Expunge(context.Background(), e.inbox(address).ID, []store.UID{uid}); err != nil {
		e.t.Fatal(err)
	}
}
