package imapd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/imapd"
	"mailhouse/internal/testenv"
)

// testServer is a real server on loopback over a testenv stack.
type testServer struct {
	*testenv.Stack
	srv        *imapd.Server
	plainAddr  string // STARTTLS
	tlsAddr    string // implicit TLS
	insecAddr  string // plaintext with auth allowed (for clients that cannot STARTTLS)
	insecurSrv *imapd.Server
}

func alice() string { return "alice@" + testenv.Domain }
func bob() string   { return "bob@" + testenv.Domain }

func startServer(t testing.TB, cfg config.IMAP) *testServer {
	t.Helper()
	return startServerWith(t, cfg, nil)
}

// startServerWith is startServer with Options changed by edit.
func startServerWith(t testing.TB, cfg config.IMAP, edit func(*imapd.Options)) *testServer {
	t.Helper()
	st := testenv.NewStack(t, "alice", "bob")
	ts := &testServer{Stack: st}
	o := imapd.Options{
		Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: st.Auth,
		Deliverer: st.Deliverer, Config: cfg, Logger: st.Logger,
	}
	if edit != nil {
		edit(&o)
	}
	ts.srv = imapd.New(o)
	o.AllowInsecureAuth = true
	ts.insecurSrv = imapd.New(o)
	listen := func(srv *imapd.Server, implicit bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln, implicit)
		return ln.Addr().String()
	}
	ts.plainAddr = listen(ts.srv, false)
	ts.tlsAddr = listen(ts.srv, true)
	ts.insecAddr = listen(ts.insecurSrv, false)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.srv.Shutdown(ctx)
		ts.insecurSrv.Shutdown(ctx)
	})
	return ts
}

// deliver delivers a message to a local address as SMTP would.
func (ts *testServer) deliver(t testing.TB, to, msg string) {
	t.Helper()
	ctx := context.Background()
	res, err := ts.Deliverer.Resolve(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n"))
	if _, err := ts.Deliverer.Deliver(ctx, delivery.Envelope{From: "sender@example.org", Recipients: []directory.Resolution{res}, Data: data}); err != nil {
		t.Fatal(err)
	}
}

func testMessage(subject string) string {
	return "From: Sender <sender@example.org>\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n\r\nHello " + subject + "\r\n"
}

// client is a raw protocol client: it writes what the test says and
// reads responses line by line (literals included in the line).
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	n    int
	// wait bounds the wait for each response line; 10 s if zero.
	wait time.Duration
}

func dialRaw(t testing.TB, addr string, tlsConf *tls.Config) *client {
	t.Helper()
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, conn: c, r: bufio.NewReader(c)}
	cl.expect("* OK")
	return cl
}

// login dials implicit TLS and logs in as alice.
func (ts *testServer) login(t testing.TB, user string) *client {
	t.Helper()
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	c.ok("LOGIN %s %q", user, testenv.Password)
	return c
}

// line reads one response line, with any literal's data appended.
func (c *client) line() string {
	c.t.Helper()
	wait := c.wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	var out strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (so far %q)", err, out.String()+l)
		}
		out.WriteString(l)
		var n int
		if i := strings.LastIndexByte(l, '{'); i >= 0 && strings.HasSuffix(l, "}\r\n") {
			if _, err := fmt.Sscanf(l[i:], "{%d}", &n); err == nil {
				buf := make([]byte, n)
				if _, err := io.ReadFull(c.r, buf); err != nil {
					c.t.Fatal(err)
				}
				out.Write(buf)
				continue
			}
		}
		return strings.TrimSuffix(out.String(), "\r\n")
	}
}

func (c *client) expect(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want prefix %q", l, prefix)
	}
	return l
}

// closed reads until the server closes the connection, for up to 10 s
// (a session's clean-up is done by then: it runs before the close).
func (c *client) closed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// do sends a tagged command and returns the untagged lines and the
// tagged status line.
func (c *client) do(format string, args ...any) (untagged []string, tagged string) {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	c.write(tag + " " + fmt.Sprintf(format, args...) + "\r\n")
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// ok runs a command that must succeed.
func (c *client) ok(format string, args ...any) []string {
	c.t.Helper()
	u, tagged := c.do(format, args...)
	if !strings.HasPrefix(tagged, "OK") {
		c.t.Fatalf("%s: %s (untagged %q)", fmt.Sprintf(format, args...), tagged, u)
	}
	return u
}

// status runs a command and returns its tagged status word.
func (c *client) status(format string, args ...any) string {
	c.t.Helper()
	_, tagged := c.do(format, args...)
	return tagged
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func isValidUTF8(s string) bool { return utf8.ValidString(s) }
