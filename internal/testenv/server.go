package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/app"
	"mailhouse/internal/config"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
)

// Server is a whole running mailhouse on loopback.
type Server struct {
	App *app.App
	// DNS is the loopback DNS server every lookup goes to (SPF, DKIM,
	// DMARC, MX); it answers NXDOMAIN until a test adds records.
	DNS       *dnstest.Server
	Config    *config.Config
	ClientTLS *tls.Config
	CertFile  string
}

// Start runs the whole application with every service on 127.0.0.1:0,
// domain example.test and the given accounts (password Password). extra
// is TOML appended to the config (e.g. limits). It stops when the test
// ends.
func Start(t testing.TB, extra string, users ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
	if err := netx.GenerateSelfSigned("localhost", cert, key); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = %q\ndata_dir = \"data\"\n[tls]\ncert_file = %q\nkey_file = %q\n[listen]\n", Hostname, cert, key)
	for _, k := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https"} {
		fmt.Fprintf(&b, "%s = [\"127.0.0.1:0\"]\n", k)
	}
	dns := dnstest.New(t)
	fmt.Fprintf(&b, "[dns]\nresolver = %q\n", dns.Addr)
	b.WriteString(extra)
	cfg, err := config.Parse([]byte(b.String()), dir)
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	a, err := app.New(app.Options{Config: cfg, Logger: testLogger(t), AuthParams: FastParams})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Store.AddDomain(ctx, Domain); err != nil {
		t.Fatal(err)
	}
	h, err := a.Auth.HashPassword(Password)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := a.Store.AddAccount(ctx, store.NewAccount{Address: u + "@" + Domain, PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Logf("shutdown: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	return &Server{App: a, DNS: dns, Config: cfg, CertFile: cert, ClientTLS: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
}

// Addr returns the first bound address of a service (config key such as
// "imaps"), failing the test if it is not listening.
func (s *Server) Addr(t testing.TB, service string) string {
	t.Helper()
	addrs := s.App.Addrs()[service]
	if len(addrs) == 0 {
		t.Fatalf("service %s is not listening", service)
	}
	return addrs[0].String()
}

// Port is the port of Addr.
func (s *Server) Port(t testing.TB, service string) string {
	_, p, _ := net.SplitHostPort(s.Addr(t, service))
	return p
}

// Mailbox returns an account's mailbox by name.
func (s *Server) Mailbox(t testing.TB, address, name string) store.Mailbox {
	t.Helper()
	ctx := context.Background()
	a, err := s.App.Store.GetAccount(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.App.Store.GetMailbox(ctx, a.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}
