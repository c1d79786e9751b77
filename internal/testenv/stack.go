// Package testenv starts real mailhouse parts for tests, as net/http/httptest
// does for HTTP: a store in a temporary folder, the directory with a test
// domain and accounts, the authenticator, the deliverer, and a
// self-signed certificate with a client TLS config that trusts it.
// Protocol packages start their own server on 127.0.0.1:0 on top of a
// Stack; Start (server.go) runs the whole application.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"mailhouse/internal/auth"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
)

// Domain is the hosted test domain; Password is every test account's
// password.
const (
	Domain   = "example.test"
	Hostname = "mail.example.test"
	Password = "correct horse battery staple"
)

// FastParams keep argon2id cheap in tests (the format and code path are
// the real ones).
var FastParams = auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}

// Stack is a store with everything around it, for one test.
type Stack struct {
	Dir       string
	Store     store.Store
	Resolver  *directory.Resolver
	Auth      *auth.Authenticator
	Deliverer *delivery.Deliverer
	Logger    *slog.Logger
	// ServerTLS serves a self-signed certificate for Hostname, 127.0.0.1
	// and localhost; ClientTLS trusts it.
	ServerTLS *tls.Config
	ClientTLS *tls.Config
	CertFile  string
}

// NewStack builds a Stack in t.TempDir() with domain example.test and the
// given accounts (local parts; each gets Password). It is torn down when
// the test ends.
func NewStack(t testing.TB, users ...string) *Stack {
	t.Helper()
	dir := t.TempDir()
	logger := testLogger(t)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Options{Path: filepath.Join(dir, "mailhouse.db"), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Stack{Dir: dir, Store: st, Logger: logger}
	s.Resolver = &directory.Resolver{Dir: st}
	s.Auth = auth.New(auth.Options{Dir: st, Logger: logger, Params: FastParams})
	s.Deliverer = delivery.New(delivery.Options{
		Store: st, Resolver: s.Resolver, Logger: logger,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	if _, err := st.AddDomain(ctx, Domain); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		s.AddUser(t, u+"@"+Domain)
	}
	s.CertFile = filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	if err := netx.GenerateSelfSigned("localhost", s.CertFile, keyFile); err != nil {
		t.Fatal(err)
	}
	cs, err := netx.LoadCert(s.CertFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s.ServerTLS = cs.TLSConfig()
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(s.CertFile)
	pool.AppendCertsFromPEM(pem)
	s.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	return s
}

// AddUser adds an account with Password.
func (s *Stack) AddUser(t testing.TB, address string) store.Account {
	t.Helper()
	h, err := s.Auth.HashPassword(Password)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Store.AddAccount(context.Background(), store.NewAccount{Address: address, PasswordHash: h})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Mailbox returns an account's mailbox by name.
func (s *Stack) Mailbox(t testing.TB, address, name string) store.Mailbox {
	t.Helper()
	ctx := context.Background()
	a, err := s.Store.GetAccount(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.Store.GetMailbox(ctx, a.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// testLogger logs to the test's output when MAILHOUSE_TEST_LOG is set,
// and nowhere otherwise.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MAILHOUSE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
