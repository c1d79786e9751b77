package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web"
	"mailhouse/internal/web/admin"
	"mailhouse/internal/web/admin/ops"
	"mailhouse/internal/web/autoconfig"
)

// testSettings are the client settings the console shows DNS records for.
var testSettings = autoconfig.Settings{
	Hostname: "mail.example.test",
	Endpoints: []autoconfig.Endpoint{
		{Protocol: autoconfig.IMAP, Port: 993, Security: autoconfig.SecTLS},
		{Protocol: autoconfig.SMTP, Port: 465, Security: autoconfig.SecTLS},
		{Protocol: autoconfig.SMTP, Port: 587, Security: autoconfig.SecSTARTTLS},
	},
	HTTPSPort: 443,
}

// env is a running web server with the console, on a test stack with
// alice (admin) and bob (not).
type env struct {
	st      *testenv.Stack
	console *admin.Console
	base    string // https://localhost:port
	addr    string // 127.0.0.1:port
	token   string // an API token
}

func start(t testing.TB) *env {
	t.Helper()
	return startWith(t, nil)
}

// startWith is start with the console's options changed by edit.
func startWith(t testing.TB, edit func(*admin.Options)) *env {
	t.Helper()
	st := testenv.NewStack(t, "alice", "bob")
	ctx := context.Background()
	if err := st.Store.(store.Admin).SetAdmin(ctx, "alice@example.test", true); err != nil {
		t.Fatal(err)
	}
	o := admin.Options{Store: st.Store, Auth: st.Auth, Settings: testSettings, Logger: st.Logger}
	if edit != nil {
		edit(&o)
	}
	c, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{
		Hostname: testSettings.Hostname, TLS: st.ServerTLS, Endpoints: testSettings.Endpoints,
		Domains: st.Store, Admin: c, Logger: st.Logger,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeHTTPS(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ln.Close()
	})
	_, tok, err := ops.New(st.Store, "test").AddToken(ctx, "test panel")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &env{st: st, console: c, base: "https://localhost:" + port, addr: ln.Addr().String(), token: tok}
}

// client is a browser-like HTTPS client with a cookie jar that does not
// follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: e.st.ClientTLS.Clone()},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// apiResp is a decoded API answer.
type apiResp struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r apiResp) errCode() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// call makes an API request with the env's token (or tok if given).
func (e *env) call(t testing.TB, method, path, body string, tok ...string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+"/api/admin/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	token := e.token
	if len(tok) > 0 {
		token = tok[0]
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := apiResp{Status: resp.StatusCode, Raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out.Body); err != nil {
			t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return out
}

func newAPIRequest(t testing.TB, e *env, method, path string) *http.Request {
	req, err := http.NewRequest(method, e.base+"/api/admin/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	return req
}
