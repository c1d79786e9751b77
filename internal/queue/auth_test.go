package queue_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/dnsx"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

// authWorld is a.test (sending from 127.0.0.2, DKIM keys, SPF, DMARC
// p=reject), b.test (checking on port 25 with the real SMTP server) and
// q.test (a domain with p=quarantine nobody here sends for), with their
// records on a loopback
// DNS server.
type authWorld struct {
	a, b *site
	dns  *dnstest.Server
}

func newAuthWorld(t *testing.T) *authWorld {
	t.Helper()
	w := &authWorld{dns: dnstest.New(t)}
	w.b = newSite(t, "b.test", siteOptions{cfg: fastConfig, dns: w.dns,
		verifier: &mailauth.Verifier{Hostname: "mx.b.test", Resolver: dnsx.Via(w.dns.Addr)}}, "bob")

	// a.test's keys are made as `domain add` makes them, and its records
	// published as `domain dns` prints them.
	var signer *mailauth.Signer
	sign := func(ctx context.Context, m []byte) []byte { return signer.Sign(ctx, m) }
	from2 := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	w.a = newSite(t, "a.test", siteOptions{cfg: fastConfig, dns: w.dns, routes: map[string]string{"b.test": w.b.mx},
		sign: sign, dial: from2.DialContext}, "alice")
	keys := w.a.Store.(store.DKIMKeys)
	signer = &mailauth.Signer{Keys: keys}
	ctx := context.Background()
	if _, err := mailauth.GenerateKeys(ctx, keys, "a.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	recs, err := mailauth.DNSRecords(ctx, keys, "a.test", mailauth.RecordOptions{Hostname: "mx.a.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == "TXT" && !strings.HasPrefix(r.Name, "_dmarc.") {
			w.dns.TXT(t, r.Name, r.Value)
		}
	}
	w.dns.Add(t, "a.test. 60 IN MX 10 mx.a.test.", "mx.a.test. 60 IN A 127.0.0.2", "b.test. 60 IN MX 10 mx.b.test.", "mx.b.test. 60 IN A 127.0.0.1")
	w.dns.TXT(t, "a.test.", "v=spf1 ip4:127.0.0.2 -all")
	w.dns.TXT(t, "mx.a.test.", "v=spf1 a -all")
	w.dns.TXT(t, "_dmarc.a.test.", "v=DMARC1; p=reject; adkim=s; aspf=r")
	w.dns.TXT(t, "q.test.", "v=spf1 -all")
	w.dns.TXT(t, "_dmarc.q.test.", "v=DMARC1; p=quarantine")
	return w
}

func TestAuthenticatedMailPasses(t *testing.T) {
	w := newAuthWorld(t)
	w.a.submit(t, "alice@a.test", []string{"bob@b.test"}, []string{
		"Subject: signed and sealed",
		// A forged result that claims b's authserv-id must not survive.
		"Authentication-Results: mx.b.test; dmarc=pass header.from=evil.test",
	}, "This message is DKIM-signed by a.test.")
	msg := w.b.waitMailbox(t, "bob@b.test", "INBOX", 1, 10*time.Second)[0]
	ar := authResults(msg)
	if len(ar) != 1 {
		t.Fatalf("want exactly our Authentication-Results, got %q\n%s", ar, msg)
	}
	for _, want := range []string{"mx.b.test;", "dkim=pass", "header.d=a.test", "spf=pass", "smtp.mailfrom=alice@a.test", "dmarc=pass", "header.from=a.test"} {
		if !strings.Contains(ar[0], want) {
			t.Errorf("Authentication-Results lacks %q: %s", want, ar[0])
		}
	}
	if strings.Contains(ar[0], "fail") || strings.Contains(msg, "evil.test") {
		t.Errorf("unexpected results: %s", msg)
	}
	if n := strings.Count(msg, "DKIM-Signature:"); n != 2 {
		t.Errorf("want an Ed25519 and an RSA signature, got %d", n)
	}
}

// authResults returns the unfolded Authentication-Results fields.
func authResults(msg string) []string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	var out []string
	for _, f := range strings.Split(strings.ReplaceAll(head, "\r\n\t", " "), "\r\n") {
		if strings.HasPrefix(strings.ToLower(f), "authentication-results:") {
			out = append(out, f)
		}
	}
	return out
}

// A message with From: @a.test sent straight to b's port 25 from an
// address a.test's SPF does not list, unsigned, fails DMARC and is
// refused at the end of DATA; one from q.test goes to Junk.
func TestForgedFromRejectedByDMARC(t *testing.T) {
	w := newAuthWorld(t)
	swaks := testutil.NeedTool(t, "swaks")
	run := func(from, headerFrom string) string {
		out, _ := exec.Command(swaks, "--server", w.b.mx, "--helo", "forger.example", "--from", from, "--to", "bob@b.test",
			"--header", "From: "+headerFrom, "--header", "Subject: trust me", "--body", "pay now", "--timeout", "10").CombinedOutput()
		return string(out)
	}
	out := run("ceo@evil.test", "CEO <alice@a.test>")
	if !strings.Contains(out, "<** 550 5.7.1") {
		t.Fatalf("forged a.test mail not refused with 550 5.7.1:\n%s", out)
	}
	out = run("x@q.test", "x@q.test")
	if !strings.Contains(out, "<~  250") && !strings.Contains(out, "<-  250") {
		t.Fatalf("q.test mail not accepted:\n%s", out)
	}
	junk := w.b.waitMailbox(t, "bob@b.test", "Junk", 1, 5*time.Second)
	if !strings.Contains(junk[0], "dmarc=fail") {
		t.Errorf("quarantined message lacks dmarc=fail:\n%s", junk[0])
	}
	w.b.waitMailbox(t, "bob@b.test", "INBOX", 0, 0)
}
