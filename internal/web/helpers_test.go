package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web"
	"mailhouse/internal/web/autoconfig"
)

// testConfig is a config with fixed, distinct ports for every service, so
// that each document can be checked against it. The listeners are not
// opened: the documents describe the config.
const testConfig = `
hostname = "mail.example.test"
[listen]
smtp = ["0.0.0.0:2025"]
submission = ["0.0.0.0:2587", "0.0.0.0:2526"]
submissions = ["0.0.0.0:2465"]
imap = ["0.0.0.0:2143"]
imaps = ["[::]:2993"]
pop3 = ["0.0.0.0:2110"]
pop3s = ["0.0.0.0:2995"]
http = ["127.0.0.1:0"]
https = ["127.0.0.1:8443"]
`

func parseConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(text), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// site is a running web.Server.
type site struct {
	srv          *web.Server
	https, http  string // base URLs
	client       *http.Client
	cfg          *config.Config
	stack        *testenv.Stack
	plainAddress string
}

// startWeb serves web.New with options derived from cfg, the way the app
// does, on loopback.
func startWeb(t testing.TB, st *testenv.Stack, cfg *config.Config, admin http.Handler) *site {
	t.Helper()
	s := autoconfig.FromConfig(cfg)
	srv := web.New(web.Options{
		Hostname: s.Hostname, TLS: st.ServerTLS, Endpoints: s.Endpoints, HTTPSPort: s.HTTPSPort,
		MaxMessageBytes: s.MaxMessageBytes, Domains: st.Store, Admin: admin, Logger: st.Logger,
	})
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeHTTP(hl) }()
	go func() { _ = srv.ServeHTTPS(sl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hl.Close()
		sl.Close()
	})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:       jar,
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: st.ClientTLS.Clone(), ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &site{
		srv: srv, https: "https://localhost:" + port(sl.Addr()), http: "http://127.0.0.1:" + port(hl.Addr()),
		client: client, cfg: cfg, stack: st, plainAddress: hl.Addr().String(),
	}
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func testScreenshots() string { return os.Getenv("MAILHOUSE_SCREENSHOTS") }

func writeFile(t testing.TB, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Error(err)
	}
}
