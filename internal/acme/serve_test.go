package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/acme"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
)

// testCA issues certificates as a CA would, for tests without Pebble.
type testCA struct {
	t    *testing.T
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "R10", Organization: []string{"Test CA"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{t: t, key: key, cert: c}
}

// issue returns a PEM file (key, leaf, CA) for names.
func (ca *testCA) issue(serial int64, notBefore, notAfter time.Time, names ...string) []byte {
	ca.t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), DNSNames: names, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	return append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
}

// offlineOptions point at a CA that is not there (a closed port).
func offlineOptions(t *testing.T) acme.Options {
	return acme.Options{
		Hostname: hostname, Names: []string{"old.example.test"}, DomainPrefixes: []string{"autoconfig"},
		Domains:      domains{"example.test"},
		DirectoryURL: "https://" + freeAddr(t) + "/dir", CacheDir: t.TempDir(),
		TLSALPN01: true, HTTP01: true,
		RetryMin: time.Hour, RetryMax: 4 * time.Hour,
	}
}

// seed writes cached certificates (and a status file naming them) as a
// server that obtained them would have left them.
func seed(t *testing.T, o acme.Options, certs map[string][]byte) {
	t.Helper()
	dir := o.StateDir()
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	var names []map[string]string
	for n, b := range certs {
		if err := os.WriteFile(filepath.Join(dir, "certs", n+".pem"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, map[string]string{"name": n})
	}
	st, _ := json.Marshal(map[string]any{"directory": o.DirectoryURL, "names": names})
	if err := os.WriteFile(filepath.Join(dir, "status.json"), st, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fallbackCert writes a self-signed pair for the hostname and returns it
// loaded.
func fallbackCert(t *testing.T) *netx.CertStore {
	t.Helper()
	dir := t.TempDir()
	c, k := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := netx.GenerateSelfSigned("localhost", c, k); err != nil {
		t.Fatal(err)
	}
	cs, err := netx.LoadCert(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type domains []string

func (d domains) ListDomains(context.Context) ([]store.Domain, error) {
	var out []store.Domain
	for _, n := range d {
		out = append(out, store.Domain{Name: n})
	}
	return out, nil
}

type failingDomains struct{}

func (failingDomains) ListDomains(context.Context) ([]store.Domain, error) {
	return nil, errors.New("database is locked")
}

// tryHandshake runs a TLS handshake in memory and returns the served
// leaf.
func tryHandshake(server, client *tls.Config) (*x509.Certificate, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srvErr := make(chan error, 1)
	go func() {
		s := tls.Server(a, server)
		err := s.Handshake()
		if err != nil {
			a.Close()
		}
		srvErr <- err
	}()
	c := tls.Client(b, client)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		b.Close()
		return nil, errors.Join(err, <-srvErr)
	}
	if err := <-srvErr; err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

func TestServeBySNI(t *testing.T) {
	ca := newTestCA(t)
	o := offlineOptions(t)
	o.Fallback = fallbackCert(t)
	now := time.Now()
	seed(t, o, map[string][]byte{
		hostname:           ca.issue(10, now.Add(-time.Hour), now.Add(90*24*time.Hour), hostname),
		autoconfig:         ca.issue(11, now.Add(-time.Hour), now.Add(90*24*time.Hour), autoconfig),
		"old.example.test": ca.issue(12, now.Add(-90*24*time.Hour), now.Add(-time.Hour), "old.example.test"),
	})
	m, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	conf := m.TLSConfig().Clone() // as every service does
	for _, tc := range []struct {
		name   string
		client *tls.Config
		serial int64 // 0: the fallback
		err    string
	}{
		{"hostname", &tls.Config{ServerName: hostname}, 10, ""},
		{"autoconfig", &tls.Config{ServerName: autoconfig}, 11, ""},
		{"upper case", &tls.Config{ServerName: "AutoConfig.Example.Test"}, 11, ""},
		{"no SNI gets the hostname's", &tls.Config{}, 10, ""},
		{"unknown name gets the hostname's", &tls.Config{ServerName: "x.example.test"}, 10, ""},
		{"expired is never served", &tls.Config{ServerName: "old.example.test"}, 10, ""},
		{"fallback covers the name", &tls.Config{ServerName: "localhost"}, 0, ""},
		{"IMAP client's ALPN", &tls.Config{ServerName: hostname, NextProtos: []string{"imap"}}, 10, ""},
		{"browser's ALPN", &tls.Config{ServerName: hostname, NextProtos: []string{"h2", "http/1.1"}}, 10, ""},
		{"TLS-ALPN-01 without a challenge", &tls.Config{ServerName: hostname, NextProtos: []string{"acme-tls/1"}}, 0, "no TLS-ALPN-01 challenge"},
		{"TLS 1.1", &tls.Config{ServerName: hostname, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, 0, "protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.InsecureSkipVerify = true
			leaf, err := tryHandshake(conf, tc.client)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want error %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.serial == 0 {
				if leaf.Issuer.CommonName == "R10" {
					t.Errorf("got the ACME certificate %v, want the fallback", leaf.DNSNames)
				}
				return
			}
			if leaf.SerialNumber.Int64() != tc.serial {
				t.Errorf("got serial %d (%v), want %d", leaf.SerialNumber, leaf.DNSNames, tc.serial)
			}
		})
	}
	st := m.Status()
	if len(st) != 3 || st[0].Name != hostname || st[0].Issuer != "Test CA R10" || st[0].Serial != "a" {
		t.Errorf("status %+v", st)
	}
}

func TestFallbackBeforeIssuance(t *testing.T) {
	o := offlineOptions(t)
	o.Fallback = fallbackCert(t)
	m, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tryHandshake(m.TLSConfig(), &tls.Config{ServerName: hostname, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(leaf.DNSNames, "localhost") {
		t.Errorf("served %v, want the fallback", leaf.DNSNames)
	}

	o.Fallback = nil
	o.CacheDir = t.TempDir()
	m, err = acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryHandshake(m.TLSConfig(), &tls.Config{ServerName: hostname, InsecureSkipVerify: true}); err == nil || !strings.Contains(err.Error(), "no certificate yet") {
		t.Errorf("handshake without any certificate: %v", err)
	}
}

// TestUnreachableCA: a failure is recorded per name with its reason and
// a back-off that survives a restart; Check does not retry early.
func TestUnreachableCA(t *testing.T) {
	o := offlineOptions(t)
	m, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 30*time.Second)
	start := time.Now()
	err = m.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("check against a closed port: %v", err)
	}
	want := []string{hostname, autoconfig, "old.example.test"}
	if got := m.ManagedNames(); !slices.Equal(got, want) {
		t.Fatalf("managed %q, want %q", got, want)
	}
	for _, s := range m.Status() {
		if s.Failures != 1 || !strings.Contains(s.LastError, "connection refused") || s.HasCert() {
			t.Errorf("%+v", s)
		}
		if d := s.NextAttempt.Sub(start); d < time.Hour || d > time.Hour+time.Minute {
			t.Errorf("%s: next attempt in %s, want RetryMin (1h)", s.Name, d)
		}
	}
	if err := m.Check(ctx); err != nil {
		t.Errorf("check during back-off tried again: %v", err)
	}
	// A second failure doubles the wait.
	if err := m.Renew(ctx, hostname); err == nil {
		t.Fatal("renew against a closed port succeeded")
	}
	s := m.Status()[0]
	if d := time.Until(s.NextAttempt); s.Failures != 2 || d < 119*time.Minute || d > 2*time.Hour {
		t.Errorf("after the 2nd failure: %d failures, next in %s", s.Failures, d)
	}

	// A restart keeps the back-off (no hammering the CA in a crash loop).
	m2, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := m2.Status()[0]; s2.Failures != 2 || !s2.NextAttempt.Equal(s.NextAttempt) || s2.LastError != s.LastError {
		t.Errorf("after restart %+v, want %+v", s2, s)
	}
	rep, err := acme.ReadStatus(ctx, o)
	if err != nil || len(rep.Names) != 3 || rep.Names[0].Failures != 2 || rep.Updated.IsZero() {
		t.Errorf("ReadStatus: %+v, %v", rep, err)
	}

	if err := m.Renew(ctx, "not-managed.example.test"); err == nil || !strings.Contains(err.Error(), "not a managed name") {
		t.Errorf("renewing an unmanaged name: %v", err)
	}
}

// TestNamesKeptWhenListingFails: a store error keeps the previous list.
func TestNamesKeptWhenListingFails(t *testing.T) {
	o := offlineOptions(t)
	o.RetryMin = 24 * time.Hour
	ctx := ctxTimeout(t, 30*time.Second)
	m, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Check(ctx)
	o.Domains = failingDomains{}
	m2, err := acme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	_ = m2.Check(ctx)
	if got := m2.ManagedNames(); !slices.Contains(got, autoconfig) {
		t.Errorf("names after a listing error: %q", got)
	}
	if _, err := acme.ReadStatus(ctx, o); err == nil {
		t.Error("ReadStatus hid the listing error")
	}
}

func TestWantedNames(t *testing.T) {
	o := acme.Options{
		Hostname: "Mail.Example.Test.", Names: []string{"webmail.example.test", "MAIL.example.test", "localhost"},
		Domains: domains{"example.test", "b.example", "c.test"}, DomainPrefixes: nil, // nil: the defaults
	}
	got, err := o.WantedNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mail.example.test",
		"autoconfig.b.example", "autodiscover.b.example", "mta-sts.b.example",
		"autoconfig.c.test", "autodiscover.c.test", "mta-sts.c.test",
		"autoconfig.example.test", "autodiscover.example.test", "mta-sts.example.test", "webmail.example.test",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	o.DomainPrefixes = []string{}
	if got, _ := o.WantedNames(context.Background()); len(got) != 2 {
		t.Errorf("no prefixes: %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	o := offlineOptions(t)
	o.CacheDir = ""
	if _, err := acme.New(o); err == nil {
		t.Error("no CacheDir accepted")
	}
	o = offlineOptions(t)
	o.HTTP01, o.TLSALPN01 = false, false
	if _, err := acme.New(o); err == nil || !strings.Contains(err.Error(), "no challenge") {
		t.Errorf("no challenge type: %v", err)
	}
	o = offlineOptions(t)
	o.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(o.CAFile, []byte("not PEM"), 0o600)
	if _, err := acme.New(o); err == nil || !strings.Contains(err.Error(), "acme_ca_file") {
		t.Errorf("bad CA file: %v", err)
	}
}

func TestHTTPHandlerPassesOtherRequests(t *testing.T) {
	m, err := acme.New(offlineOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("site")) })
	h := m.HTTPHandler(next)
	for path, want := range map[string]int{
		"/mail/config-v1.1.xml":                    200,
		"/.well-known/acme-challenge/unknowntoken": 404,
		"/.well-known/acme-challenge/":             404,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	rec := httptest.NewRecorder()
	m.HTTPHandler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 404 {
		t.Errorf("nil fallback: %d", rec.Code)
	}
}

func TestRenewAt(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		life, before, want time.Duration
	}{
		{90 * 24 * time.Hour, 0, 60 * 24 * time.Hour}, // Let's Encrypt today: 30 days before
		{45 * 24 * time.Hour, 0, 30 * 24 * time.Hour}, // 45-day certificates: a third left
		{6 * 24 * time.Hour, 0, 4 * 24 * time.Hour},   // short-lived
		{90 * 24 * time.Hour, 10 * 24 * time.Hour, 80 * 24 * time.Hour},
	} {
		leaf := &x509.Certificate{NotBefore: nb, NotAfter: nb.Add(tc.life)}
		if got := acme.RenewAt(leaf, tc.before).Sub(nb); got != tc.want {
			t.Errorf("life %s, before %s: renew after %s, want %s", tc.life, tc.before, got, tc.want)
		}
	}
}
