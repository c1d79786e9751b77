package smtpclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/dnsx"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/netx"
	"mailhouse/internal/smtpclient"
)

// peer is another MTA on loopback (go-smtp's server), recording what it
// receives.
type peer struct {
	addr string
	mu   sync.Mutex
	got  []string
}

type peerSession struct{ p *peer }

func (s peerSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	return nil
}
func (s peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.p.mu.Lock()
	s.p.got = append(s.p.got, string(b))
	s.p.mu.Unlock()
	return err
}
func (s peerSession) Reset()        {}
func (s peerSession) Logout() error { return nil }

func startPeer(t *testing.T, tlsCfg *tls.Config, utf8 bool) *peer {
	t.Helper()
	p := &peer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return peerSession{p}, nil }))
	srv.Domain = "peer.test"
	srv.TLSConfig = tlsCfg
	srv.EnableSMTPUTF8 = utf8
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *peer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

func portOf(t *testing.T, addr string) int {
	_, ps, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(ps)
	return n
}

// certFor makes a self-signed certificate for host, its server config
// and a pool that trusts it.
func certFor(t *testing.T, host string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	c, k := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := netx.GenerateSelfSigned(host, c, k); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(c)
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{Certificates: []tls.Certificate{pair}}, pool
}

var msg = smtpclient.Message{From: "alice@a.test", To: []string{"bob@s.test"}, Data: []byte("Subject: hi\r\n\r\nhello\r\n")}

func send(t *testing.T, d *smtpclient.Dialer, domain string, m smtpclient.Message) (*smtpclient.Conn, []smtpclient.RcptResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, domain)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	res, err := c.Send(ctx, m)
	return c, res, err
}

func TestMXResolution(t *testing.T) {
	dns := dnstest.New(t)
	p := startPeer(t, nil, true)
	dns.Add(t,
		"s.test. 60 IN MX 5 dead.s.test.", "s.test. 60 IN MX 10 mx.s.test.",
		"dead.s.test. 60 IN A 127.0.0.3", "mx.s.test. 60 IN A 127.0.0.1",
		"implicit.test. 60 IN A 127.0.0.1",
		"null.test. 60 IN MX 0 .",
		"nomail.test. 60 IN TXT \"no address\"",
	)
	d := smtpclient.New(smtpclient.Options{Hostname: "mx.a.test", Resolver: dnsx.Via(dns.Addr), Port: portOf(t, p.addr), ConnectTimeout: time.Second})
	// The preferred MX does not answer (nothing listens on 127.0.0.3):
	// the next one takes the mail.
	c, res, err := send(t, d, "s.test", msg)
	if err != nil || res[0].Err != nil || c.Host != "mx.s.test" {
		t.Fatalf("MX fallback: %v %+v", err, res)
	}
	// No MX: the domain's own address (RFC 5321 §5.1).
	if _, res, err := send(t, d, "implicit.test", msg); err != nil || res[0].Err != nil {
		t.Fatalf("implicit MX: %v %+v", err, res)
	}
	// Null MX (RFC 7505) and no mail host at all are permanent.
	for _, dom := range []string{"null.test", "nomail.test", "nxdomain.test"} {
		_, _, err := send(t, d, dom, msg)
		if !smtpclient.Permanent(err) {
			t.Errorf("%s: want a permanent failure, got %v", dom, err)
		}
		if dom == "null.test" && !strings.Contains(err.Error(), "556 5.1.10") {
			t.Errorf("null MX: %v", err)
		}
	}
	// A DNS server failure is temporary.
	dns.Fail("broken.test", true)
	if _, _, err := send(t, d, "broken.test", msg); err == nil || smtpclient.Permanent(err) {
		t.Errorf("SERVFAIL: want a temporary failure, got %v", err)
	}
	// Per-recipient results with ENHANCEDSTATUSCODES.
	m := msg
	m.To = []string{"bob@s.test", "nobody@s.test"}
	_, res, err = send(t, d, "s.test", m)
	if err != nil || res[0].Err != nil || res[1].Err == nil || res[1].Err.Code != 550 || res[1].Err.Enhanced != "5.1.1" || res[1].Err.Temporary {
		t.Fatalf("per-recipient: %v %+v %+v", err, res[0].Err, res[1].Err)
	}
	if p.count() != 3 {
		t.Errorf("peer got %d messages, want 3", p.count())
	}
}

func TestSMTPUTF8Needed(t *testing.T) {
	p := startPeer(t, nil, false)
	d := smtpclient.New(smtpclient.Options{Hostname: "mx.a.test", Routes: map[string]string{"s.test": p.addr}})
	m := msg
	m.To, m.UTF8 = []string{"bjørn@s.test"}, true
	_, res, err := send(t, d, "s.test", m)
	if err != nil || res[0].Err == nil || res[0].Err.Enhanced != "5.6.7" || res[0].Err.Temporary || !strings.Contains(res[0].Err.Message, "SMTPUTF8") {
		t.Fatalf("want 5.6.7 permanent, got %v %+v", err, res)
	}
	if p.count() != 0 {
		t.Error("message sent to a server without SMTPUTF8")
	}
}

// mtaSTSWorld is s.test with an MTA-STS policy served over HTTPS and an
// MX host on loopback.
func mtaSTSWorld(t *testing.T, policy string, peerTLS *tls.Config) (*smtpclient.Dialer, *peer, *x509.CertPool) {
	t.Helper()
	dns := dnstest.New(t)
	p := startPeer(t, peerTLS, true)
	dns.Add(t, "s.test. 60 IN MX 10 mx.s.test.", "mx.s.test. 60 IN A 127.0.0.1", "other.s.test. 60 IN A 127.0.0.1")
	dns.TXT(t, "_mta-sts.s.test.", "v=STSv1; id=1;")
	webTLS, webPool := certFor(t, "mta-sts.s.test")
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.s.test" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, policy)
	}))
	web.TLS = webTLS
	web.StartTLS()
	t.Cleanup(web.Close)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: webPool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, web.Listener.Addr().String())
		},
	}}
	sts := smtpclient.NewMTASTS(smtpclient.MTASTSOptions{Resolver: dnsx.Via(dns.Addr), HTTPClient: hc})
	var pool *x509.CertPool
	if peerTLS != nil {
		pool = x509.NewCertPool()
		pool.AddCert(mustLeaf(t, peerTLS))
	}
	d := smtpclient.New(smtpclient.Options{Hostname: "mx.a.test", Resolver: dnsx.Via(dns.Addr), Port: portOf(t, p.addr),
		MTASTS: sts, RootCAs: pool, ConnectTimeout: time.Second})
	return d, p, pool
}

func mustLeaf(t *testing.T, c *tls.Config) *x509.Certificate {
	leaf, err := x509.ParseCertificate(c.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestMTASTSEnforce(t *testing.T) {
	enforce := "version: STSv1\r\nmode: enforce\r\nmx: mx.s.test\r\nmax_age: 86400\r\n"
	good, _ := certFor(t, "mx.s.test")
	wrong, _ := certFor(t, "elsewhere.test")

	t.Run("valid certificate", func(t *testing.T) {
		d, p, _ := mtaSTSWorld(t, enforce, good)
		c, res, err := send(t, d, "s.test", msg)
		if err != nil || res[0].Err != nil || c.TLS == nil || !c.Verified {
			t.Fatalf("enforced delivery: %v %+v tls=%v verified=%v", err, res, c != nil && c.TLS != nil, c != nil && c.Verified)
		}
		if p.count() != 1 {
			t.Fatal("not delivered")
		}
	})
	t.Run("no STARTTLS", func(t *testing.T) {
		d, p, _ := mtaSTSWorld(t, enforce, nil)
		_, _, err := send(t, d, "s.test", msg)
		if err == nil || smtpclient.Permanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("want a temporary TLS failure, got %v", err)
		}
		if p.count() != 0 {
			t.Fatal("sent in clear despite the policy")
		}
	})
	t.Run("certificate for another name", func(t *testing.T) {
		d, p, _ := mtaSTSWorld(t, enforce, wrong)
		if _, _, err := send(t, d, "s.test", msg); err == nil || smtpclient.Permanent(err) {
			t.Fatalf("want a temporary TLS failure, got %v", err)
		}
		if p.count() != 0 {
			t.Fatal("sent to a host with an unverified certificate")
		}
	})
	t.Run("MX not in policy", func(t *testing.T) {
		d, p, _ := mtaSTSWorld(t, strings.Replace(enforce, "mx.s.test", "*.other.test", 1), good)
		if _, _, err := send(t, d, "s.test", msg); err == nil || !strings.Contains(err.Error(), "matches its MTA-STS policy") {
			t.Fatalf("want a policy mismatch, got %v", err)
		}
		if p.count() != 0 {
			t.Fatal("sent to a host outside the policy")
		}
	})
	t.Run("testing mode is opportunistic", func(t *testing.T) {
		d, p, _ := mtaSTSWorld(t, strings.Replace(enforce, "enforce", "testing", 1), wrong)
		c, res, err := send(t, d, "s.test", msg)
		if err != nil || res[0].Err != nil || c.TLS == nil || c.Verified {
			t.Fatalf("testing mode: %v %+v", err, res)
		}
		if p.count() != 1 {
			t.Fatal("not delivered")
		}
	})
}

func TestParsePolicy(t *testing.T) {
	p, err := smtpclient.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"))
	if err != nil || p.Mode != smtpclient.ModeEnforce || p.MaxAge != 604800*time.Second {
		t.Fatalf("%+v %v", p, err)
	}
	for host, want := range map[string]bool{"mail.example.com": true, "MAIL.example.com.": true, "a.example.net": true,
		"a.b.example.net": false, "example.net": false, "other.example.com": false} {
		if p.Match(host) != want {
			t.Errorf("Match(%q) = %v", host, !want)
		}
	}
	for _, bad := range []string{"", "version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv2\nmode: none\nmax_age: 1\n",
		"version: STSv1\nmode: sometimes\nmx: a.b\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n", "junk"} {
		if _, err := smtpclient.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
