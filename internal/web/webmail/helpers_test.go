package webmail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web"
	"mailhouse/internal/web/webmail"
)

// env is a webmail served over HTTPS on loopback, on top of a real
// store, mounted the way the web server mounts it (at /mail/, behind
// web.SecurityHeaders).
type env struct {
	st   *testenv.Stack
	wm   *webmail.Webmail
	base string // https://localhost:port
	clk  *clock
}

// clock is a settable clock for session expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type envOptions struct {
	smtp config.SMTP
}

func start(t testing.TB, users ...string) *env {
	return startWith(t, envOptions{}, users...)
}

func startWith(t testing.TB, o envOptions, users ...string) *env {
	t.Helper()
	if len(users) == 0 {
		users = []string{"alice", "bob"}
	}
	st := testenv.NewStack(t, users...)
	return serve(t, st, o)
}

// serve starts the webmail on an existing stack.
func serve(t testing.TB, st *testenv.Stack, o envOptions) *env {
	t.Helper()
	clk := &clock{t: time.Now()}
	wm := webmail.New(webmail.Options{
		Store: st.Store, Auth: st.Auth, Deliverer: st.Deliverer, Resolver: st.Resolver,
		Hostname: testenv.Hostname, SMTP: o.smtp, Logger: st.Logger, Now: clk.now,
	})
	mux := http.NewServeMux()
	mux.Handle("/mail/", wm)
	mux.Handle("/mail", wm)
	srv := &http.Server{
		Handler:           web.SecurityHeaders(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(tls.NewListener(ln, st.ServerTLS)) }()
	t.Cleanup(func() {
		wm.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &env{st: st, wm: wm, base: "https://localhost:" + port, clk: clk}
}

// client is one browser: a cookie jar, no automatic redirects.
type client struct {
	t    testing.TB
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, e: e, http: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: e.st.ClientTLS.Clone(),
			DialContext: (&net.Dialer{}).DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// login logs a user ("alice") in and returns the browser.
func (e *env) login(t testing.TB, user string) *client {
	t.Helper()
	c := e.client(t)
	r := c.post("/mail/login", url.Values{"username": {user + "@" + testenv.Domain}, "password": {testenv.Password}}, false)
	if r.status != http.StatusSeeOther {
		t.Fatalf("login %s: status %d\n%s", user, r.status, r.body)
	}
	for i := 0; r.status == http.StatusSeeOther && i < 5; i++ {
		r = c.follow(r) // to the INBOX, picking up the CSRF token
	}
	if c.csrf == "" {
		t.Fatalf("no CSRF token after login:\n%s", r.body)
	}
	return c
}

// resp is a response read whole.
type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) location() string { return r.header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) resp {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading: %v", req.Method, req.URL, err)
	}
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return c.e.base + path
}

func (c *client) get(path string) resp {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.url(path), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// follow follows a redirect (one step).
func (c *client) follow(r resp) resp {
	c.t.Helper()
	if r.status != http.StatusSeeOther && r.status != http.StatusFound && r.status != http.StatusMovedPermanently {
		c.t.Fatalf("expected a redirect, got %d\n%s", r.status, r.body)
	}
	return c.get(r.location())
}

// post sends a form; with token the session's CSRF token is added.
func (c *client) post(path string, form url.Values, token bool) resp {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if token {
		form.Set("csrf", c.csrf)
	}
	req, err := http.NewRequest("POST", c.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// upload is a file for postMultipart.
type upload struct {
	name, ctype string
	data        []byte
}

// postMultipart sends the compose form with files.
func (c *client) postMultipart(path string, form url.Values, files []upload) resp {
	c.t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	if _, ok := form["csrf"]; !ok {
		_ = mw.WriteField("csrf", c.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="attach"; filename="` + f.name + `"`}
		h["Content-Type"] = []string{f.ctype}
		w, err := mw.CreatePart(h)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = w.Write(f.data)
	}
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.url(path), strings.NewReader(b.String()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// deliver stores a message in a local account's INBOX through delivery,
// as SMTP would.
func deliver(t testing.TB, st *testenv.Stack, to, raw string) store.Delivered {
	t.Helper()
	data := message.ToCRLF([]byte(raw))
	return deliverBytes(t, st, to, data)
}

func deliverBytes(t testing.TB, st *testenv.Stack, to string, data []byte) store.Delivered {
	t.Helper()
	res, err := st.Deliverer.Resolve(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Deliverer.Deliver(context.Background(), delivery.Envelope{
		From: "sender@elsewhere.example", Recipients: []directory.Resolution{res}, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Local[0]
}

// simple builds a small text message.
func simple(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@elsewhere.example>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

// messages lists a mailbox's messages.
func messages(t testing.TB, st *testenv.Stack, addr, mailbox string) []store.MessageMeta {
	t.Helper()
	mb := st.Mailbox(t, addr, mailbox)
	l, err := st.Store.ListMessages(context.Background(), mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// readAll returns a stored message's bytes.
func readMsg(t testing.TB, st *testenv.Stack, m store.MessageMeta) string {
	t.Helper()
	b, err := st.Store.ReadMessage(context.Background(), m.Mailbox, m.UID)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func has(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// folderPath is the webmail path of a user's mailbox.
func folderPath(t testing.TB, st *testenv.Stack, addr, mailbox string) string {
	return "/mail/f/" + itoa(int64(st.Mailbox(t, addr, mailbox).ID))
}

func msgPath(t testing.TB, st *testenv.Stack, addr, mailbox string, uid store.UID) string {
	return folderPath(t, st, addr, mailbox) + "/" + itoa(int64(uid))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func storeAlias(addr string, targets ...string) store.Alias {
	return store.Alias{Address: addr, Targets: targets}
}

func base64Reader(b []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, b)))
}

func qpReader(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }
