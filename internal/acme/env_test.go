package acme_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/acme"
	"mailhouse/internal/cli"
	"mailhouse/internal/config"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/imapd"
	"mailhouse/internal/netx"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
	"mailhouse/internal/web"
)

// env is a mail server whose IMAPS, submission (STARTTLS) and HTTPS
// listeners serve the ACME manager's TLSConfig, its plain HTTP listener
// the manager's HTTPHandler, and a Pebble CA that resolves the test's
// names through the test's DNS server to 127.0.0.1.
type env struct {
	t       *testing.T
	stack   *testenv.Stack
	dns     *dnstest.Server
	pebble  *pebble
	cfgPath string
	cfg     *config.Config
	opts    acme.Options
	m       *acme.Manager
	log     *lockedBuffer
	// serving is the manager the listeners use: m, until restart.
	serving atomic.Pointer[acme.Manager]

	imaps, submission, https string // listener addresses
}

type envOptions struct {
	// tlsPortClosed points Pebble's TLS-ALPN-01 validation at a closed
	// port, so that only HTTP-01 can succeed.
	tlsPortClosed bool
}

const (
	hostname   = "mail.example.test"
	autoconfig = "autoconfig.example.test"
)

func newEnv(t *testing.T, eo envOptions) *env {
	t.Helper()
	st := testenv.NewStack(t, "alice")
	e := &env{t: t, stack: st, dns: dnstest.New(t), log: &lockedBuffer{}}
	e.resolve(hostname, autoconfig)

	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	imapsLn, subLn, httpsLn, httpLn := listen(), listen(), listen(), listen()
	e.imaps, e.submission, e.https = imapsLn.Addr().String(), subLn.Addr().String(), httpsLn.Addr().String()
	tlsPort := port(t, e.https)
	if eo.tlsPortClosed {
		tlsPort = port(t, testutil.ReservePort(t).Addr) // stays closed
	}
	e.pebble = startPebble(t, e.dns.Addr, port(t, httpLn.Addr().String()), tlsPort)

	// The config as an admin writes it; the files are the fallback.
	dir := t.TempDir()
	fbCert, fbKey := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
	if err := netx.GenerateSelfSigned(hostname, fbCert, fbKey); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`hostname = %q
data_dir = "data"
[tls]
cert_file = "tls/cert.pem"
key_file = "tls/key.pem"
acme = true
acme_email = "postmaster@example.test"
acme_directory = %q
acme_ca_file = %q
acme_domain_prefixes = ["autoconfig"]
[listen]
http = ["127.0.0.1:0"]
https = ["127.0.0.1:0"]
`, hostname, e.pebble.DirURL, e.pebble.CAFile)
	e.cfgPath = filepath.Join(dir, "mailhouse.toml")
	if err := os.WriteFile(e.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	fallback, err := netx.LoadCert(cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	e.opts = acme.FromConfig(cfg, st.Store)
	e.opts.Fallback = fallback
	e.opts.Logger = slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.m = e.newManager()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.m.Stop(ctx); err != nil {
			t.Errorf("stopping the manager: %v", err)
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", e.log.String())
		}
	})

	// The real servers, each with its own clone of the one TLS config,
	// which (for restart) asks the manager now serving.
	e.serving.Store(e.m)
	tc := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		c := e.serving.Load().TLSConfig()
		if challenge, err := c.GetConfigForClient(h); challenge != nil || err != nil {
			return challenge, err
		}
		return c, nil
	}}
	imap := imapd.New(imapd.Options{Hostname: hostname, TLS: tc.Clone(), Store: st.Store, Auth: st.Auth, Deliverer: st.Deliverer, Logger: st.Logger})
	smtp := smtpd.New(smtpd.Options{Hostname: hostname, TLS: tc.Clone(), Deliverer: st.Deliverer, Resolver: st.Resolver, Auth: st.Auth, Logger: st.Logger})
	w := web.New(web.Options{Hostname: hostname, TLS: tc.Clone(), Domains: st.Store, HTTPSPort: port(t, e.https), Logger: st.Logger})
	plain := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.serving.Load().HTTPHandler(nil).ServeHTTP(w, r)
	})}
	go imap.Serve(imapsLn, true)
	go smtp.ServeSubmission(subLn)
	go w.ServeHTTPS(httpsLn)
	go plain.Serve(httpLn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = imap.Shutdown(ctx)
		_ = smtp.Shutdown(ctx)
		_ = w.Shutdown(ctx)
		_ = plain.Shutdown(ctx)
	})
	return e
}

// newManager makes a manager on the env's options and state.
func (e *env) newManager() *acme.Manager {
	e.t.Helper()
	m, err := acme.New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// restart puts a new manager on the same state in service, as a
// restarted server has.
func (e *env) restart() *acme.Manager {
	m := e.newManager()
	e.serving.Store(m)
	return m
}

// resolve makes names resolve to 127.0.0.1 (for Pebble).
func (e *env) resolve(names ...string) {
	for _, n := range names {
		e.dns.Add(e.t, n+". 60 IN A 127.0.0.1")
	}
}

// clientTLS trusts only Pebble's root and checks the name.
func (e *env) clientTLS(name string) *tls.Config {
	return &tls.Config{RootCAs: e.pebble.Roots, ServerName: name}
}

// serverCert returns the leaf a listener serves for an SNI name ("" for
// none), after checking it the way a client that trusts only Pebble and
// connects to want does.
func (e *env) serverCert(addr, sni, want string) (*x509.Certificate, error) {
	conf := &tls.Config{
		ServerName:         sni,
		InsecureSkipVerify: true, // verified below, against want rather than sni
		VerifyConnection: func(cs tls.ConnectionState) error {
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: e.pebble.Roots, Intermediates: inter, DNSName: want})
			return err
		},
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func (e *env) mustServerCert(addr, sni, want string) *x509.Certificate {
	e.t.Helper()
	c, err := e.serverCert(addr, sni, want)
	if err != nil {
		e.t.Fatalf("%s with SNI %q: %v", addr, sni, err)
	}
	return c
}

// httpsClient reaches any name on the env's HTTPS listener, trusting
// only Pebble.
func (e *env) httpsClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.pebble.Roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, e.https)
		},
	}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// httpsURL is a URL on the env's HTTPS listener for a name.
func (e *env) httpsURL(name, path string) string {
	return fmt.Sprintf("https://%s:%d%s", name, port(e.t, e.https), path)
}

// rootFile writes Pebble's root as PEM, for external clients.
func (e *env) rootFile() string {
	e.t.Helper()
	p := filepath.Join(e.t.TempDir(), "pebble-root.pem")
	var b strings.Builder
	for _, der := range e.pebble.rootDER {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// status returns a name's status.
func (e *env) status(m *acme.Manager, name string) acme.NameStatus {
	e.t.Helper()
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	e.t.Fatalf("%s is not managed; managed: %q", name, m.ManagedNames())
	return acme.NameStatus{}
}

// waitCert waits until the manager serves an ACME certificate for name.
func (e *env) waitCert(m *acme.Manager, name string, timeout time.Duration) acme.NameStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, s := range m.Status() {
			if s.Name == name && s.HasCert() {
				return s
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no certificate for %s within %s; status %+v", name, timeout, m.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tlsStatus runs `mailhouse tls status` on the env's config and store.
func (e *env) tlsStatus() (string, error) {
	var out, errb strings.Builder
	cenv := &cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		OpenStore: func(*config.Config) (store.Store, error) { return keepOpen{e.stack.Store}, nil },
	}
	err := cli.TLSStatus(cenv, []string{"--config", e.cfgPath})
	if errb.Len() > 0 {
		e.t.Logf("tls status stderr: %s", errb.String())
	}
	return out.String(), err
}

// keepOpen lends the test's store to the CLI, which closes what it
// opens.
type keepOpen struct{ store.Store }

func (keepOpen) Close() error { return nil }

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
