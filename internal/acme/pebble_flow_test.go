package acme_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/smtp"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// TestPebbleIssuesAndServes: mailhouse obtains certificates for its
// hostname and autoconfig.<domain> from Pebble, and clients that trust
// only Pebble's CA connect to IMAPS, SMTP STARTTLS and HTTPS, verifying
// chain and name.
func TestPebbleIssuesAndServes(t *testing.T) {
	t.Parallel() // each with its own Pebble; mostly waiting on ACME polling
	e := newEnv(t, envOptions{})
	ctx := ctxTimeout(t, time.Minute)

	// Before issuance the fallback (self-signed) is served: a client
	// trusting only Pebble refuses it.
	if _, err := e.serverCert(e.imaps, hostname, hostname); err == nil {
		t.Fatal("a Pebble-only client accepted the fallback certificate")
	}

	if err := e.m.Check(ctx); err != nil {
		t.Fatalf("check: %v", err)
	}
	if got := e.m.ManagedNames(); strings.Join(got, " ") != hostname+" "+autoconfig {
		t.Fatalf("managed names %q", got)
	}
	for _, s := range e.m.Status() {
		if !s.HasCert() || !strings.Contains(s.Issuer, "Pebble") || s.LastError != "" || s.Failures != 0 {
			t.Errorf("%s: %+v", s.Name, s)
		}
		if d := s.RenewAt.Sub(s.NotAfter); d != -30*24*time.Hour {
			t.Errorf("%s renews %s before expiry, want 30 days", s.Name, -d)
		}
	}
	if !strings.Contains(e.log.String(), "certificate obtained") {
		t.Errorf("no log line for the issuance:\n%s", e.log.String())
	}

	t.Run("IMAPS", func(t *testing.T) {
		c, err := imapclient.DialTLS(e.imaps, &imapclient.Options{TLSConfig: e.clientTLS(hostname)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice@"+testenv.Domain, testenv.Password).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Logout().Wait(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("SMTP STARTTLS", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", e.submission, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, hostname) // as a client configured with the hostname
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example"); err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(e.clientTLS(hostname)); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		cs, _ := c.TLSConnectionState()
		chain := cs.VerifiedChains[0]
		if root := chain[len(chain)-1]; !strings.HasPrefix(root.Subject.CommonName, "Pebble Root CA") {
			t.Errorf("verified up to %q", root.Subject.CommonName)
		}
		// net/smtp sends PLAIN only over TLS to the name it verified.
		if err := c.Auth(smtp.PlainAuth("", "alice@"+testenv.Domain, testenv.Password, hostname)); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("HTTPS", func(t *testing.T) {
		hc := e.httpsClient()
		for _, tc := range []struct{ name, path, want string }{
			{hostname, "/healthz", "ok"},
			{autoconfig, "/mail/config-v1.1.xml?emailaddress=alice%40example.test", "<clientConfig"},
		} {
			resp, err := hc.Get(e.httpsURL(tc.name, tc.path))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s%s: %d %.200s", tc.name, tc.path, resp.StatusCode, body)
			}
			if got := resp.TLS.PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != tc.name {
				t.Errorf("%s got a certificate for %q", tc.name, got)
			}
		}
	})

	t.Run("curl", func(t *testing.T) {
		curl := testutil.NeedTool(t, "curl")
		p := strconv.Itoa(port(t, e.https))
		out, err := exec.Command(curl, "-sS", "--fail", "--cacert", e.rootFile(),
			"--resolve", autoconfig+":"+p+":127.0.0.1",
			"https://"+autoconfig+":"+p+"/mail/config-v1.1.xml?emailaddress=alice%40example.test").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<clientConfig") {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	})

	t.Run("no SNI", func(t *testing.T) {
		// Many SMTP and POP3 clients send no SNI: they get the
		// hostname's certificate, valid for the name they connect to.
		leaf := e.mustServerCert(e.imaps, "", hostname)
		if leaf.DNSNames[0] != hostname {
			t.Errorf("no SNI: got %q", leaf.DNSNames)
		}
		// An unknown name gets the hostname's certificate too.
		e.mustServerCert(e.imaps, "unknown.example.test", hostname)
	})
}

// TestRenewalKeepsOpenConnection: forcing renewal puts a new certificate
// in service for new handshakes while an IMAP session opened before goes
// on; a restarted manager serves the renewed certificate from its cache.
func TestRenewalKeepsOpenConnection(t *testing.T) {
	t.Parallel() // each with its own Pebble; mostly waiting on ACME polling
	e := newEnv(t, envOptions{})
	ctx := ctxTimeout(t, time.Minute)
	if err := e.m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.mustServerCert(e.imaps, hostname, hostname)

	exists := make(chan uint32, 10)
	c, err := imapclient.DialTLS(e.imaps, &imapclient.Options{
		TLSConfig: e.clientTLS(hostname),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@"+testenv.Domain, testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	if err := e.m.Renew(ctx, hostname); err != nil {
		t.Fatalf("renew: %v", err)
	}
	after := e.mustServerCert(e.imaps, hostname, hostname)
	if after.SerialNumber.Cmp(before.SerialNumber) == 0 {
		t.Fatal("renewal did not replace the certificate")
	}
	if s := e.status(e.m, hostname); s.Serial != after.SerialNumber.Text(16) || s.LastSuccess.IsZero() {
		t.Errorf("status after renewal: %+v", s)
	}

	// The session opened before the renewal still works: it sees a new
	// message and fetches it.
	deliver(t, e, "Subject: after renewal\r\n\r\nhello\r\n")
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP on the old connection: %v", err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the old connection saw no new message")
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}

	// A restart serves the renewed certificate before talking to the CA,
	m2 := e.restart()
	if s := e.status(m2, hostname); s.Serial != after.SerialNumber.Text(16) {
		t.Errorf("restarted manager serves serial %s, want %s", s.Serial, after.SerialNumber.Text(16))
	}
	if got := handshake(t, m2.TLSConfig(), hostname); got.SerialNumber.Cmp(after.SerialNumber) != 0 {
		t.Errorf("restarted manager served serial %x", got.SerialNumber)
	}
	// and finds its ACME account again by the cached key.
	if err := m2.Renew(ctx, hostname); err != nil {
		t.Fatalf("renewal after restart: %v", err)
	}
}

// TestFailedChallengeKeepsCertificate: when validation fails (here DNS
// no longer resolves the name), the previous certificate stays in
// service, the reason is logged, the name backs off, and `mailhouse tls
// status` shows the error; once DNS is fixed, renewal succeeds.
func TestFailedChallengeKeepsCertificate(t *testing.T) {
	t.Parallel() // each with its own Pebble; mostly waiting on ACME polling
	e := newEnv(t, envOptions{})
	ctx := ctxTimeout(t, time.Minute)
	if err := e.m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	before := e.mustServerCert(e.https, autoconfig, autoconfig)

	e.dns.Remove(autoconfig, 0)
	start := time.Now()
	err := e.m.Renew(ctx, autoconfig)
	if err == nil || !strings.Contains(err.Error(), autoconfig) {
		t.Fatalf("renewal with broken DNS: %v", err)
	}
	s := e.status(e.m, autoconfig)
	if s.LastError == "" || s.Failures != 1 || !s.NextAttempt.After(start) || !s.HasCert() {
		t.Fatalf("status after the failure: %+v", s)
	}
	if s.Serial != before.SerialNumber.Text(16) {
		t.Errorf("status names serial %s, want the old %x", s.Serial, before.SerialNumber)
	}
	after := e.mustServerCert(e.https, autoconfig, autoconfig)
	if after.SerialNumber.Cmp(before.SerialNumber) != 0 {
		t.Errorf("a failed renewal changed the served certificate")
	}
	logs := e.log.String()
	if !strings.Contains(logs, "the previous one stays in service") || !strings.Contains(logs, "name="+autoconfig) {
		t.Errorf("failure not logged with the name:\n%s", logs)
	}
	// The failure is not due again until the back-off ends.
	if err := e.m.Check(ctx); err != nil {
		t.Errorf("check during back-off: %v", err)
	}
	if got := e.status(e.m, autoconfig); got.Failures != 1 {
		t.Errorf("check retried during back-off: %+v", got)
	}

	out, err := e.tlsStatus()
	if err == nil || !strings.Contains(err.Error(), "ACME failing for "+autoconfig) {
		t.Errorf("tls status exit: %v", err)
	}
	for _, want := range []string{
		"ACME directory: " + e.pebble.DirURL,
		hostname, "Pebble Intermediate CA", "ok, renews",
		"failing (1 in a row), next try",
		autoconfig + ", ", s.LastError,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tls status lacks %q:\n%s", want, out)
		}
	}
	t.Logf("tls status:\n%s", out)

	// DNS fixed: the next renewal succeeds and clears the error.
	e.resolve(autoconfig)
	if err := e.m.Renew(ctx, autoconfig); err != nil {
		t.Fatal(err)
	}
	if s := e.status(e.m, autoconfig); s.LastError != "" || s.Failures != 0 || !s.NextAttempt.IsZero() {
		t.Errorf("status after recovery: %+v", s)
	}
	if out, err := e.tlsStatus(); err != nil {
		t.Errorf("tls status after recovery: %v\n%s", err, out)
	}
}

// TestNewDomainGetsNames: with the background loop running, a domain
// added to the store gets its names once the manager looks again
// (Reload, as on SIGHUP; otherwise within CheckInterval).
func TestNewDomainGetsNames(t *testing.T) {
	t.Parallel() // each with its own Pebble; mostly waiting on ACME polling
	e := newEnv(t, envOptions{})
	e.m.Start()
	e.waitCert(e.m, hostname, 30*time.Second)
	e.waitCert(e.m, autoconfig, 30*time.Second)

	const other = "autoconfig.other.test"
	e.resolve(other)
	if _, err := e.stack.Store.AddDomain(context.Background(), "other.test"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reload(); err != nil {
		t.Fatal(err)
	}
	e.waitCert(e.m, other, 30*time.Second)
	resp, err := e.httpsClient().Get(e.httpsURL(other, "/mail/config-v1.1.xml?emailaddress=bob%40other.test"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("autoconfig for the new domain: %s", resp.Status)
	}
}

// TestHTTP01WhenTLSALPNFails: when the CA cannot reach the TLS port,
// TLS-ALPN-01 fails and HTTP-01 on the plain HTTP listener succeeds.
func TestHTTP01WhenTLSALPNFails(t *testing.T) {
	t.Parallel() // each with its own Pebble; mostly waiting on ACME polling
	e := newEnv(t, envOptions{tlsPortClosed: true})
	ctx := ctxTimeout(t, time.Minute)
	if err := e.m.Renew(ctx, hostname); err != nil {
		t.Fatal(err)
	}
	e.mustServerCert(e.imaps, hostname, hostname)
	if logs := e.log.String(); !strings.Contains(logs, "tls-alpn-01") {
		t.Errorf("the TLS-ALPN-01 failure is not logged:\n%s", logs)
	}
}

// deliver stores a message for alice as SMTP would.
func deliver(t *testing.T, e *env, msg string) {
	t.Helper()
	ctx := context.Background()
	res, err := e.stack.Deliverer.Resolve(ctx, "alice@"+testenv.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Deliverer.Deliver(ctx, delivery.Envelope{From: "x@example.org", Recipients: []directory.Resolution{res}, Data: []byte(msg)}); err != nil {
		t.Fatal(err)
	}
}

// handshake runs a TLS handshake against conf in memory and returns the
// served leaf.
func handshake(t *testing.T, conf *tls.Config, sni string) *x509.Certificate {
	t.Helper()
	leaf, err := tryHandshake(conf, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
