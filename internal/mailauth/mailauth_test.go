package mailauth_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/dnsx"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testutil"
)

// keyStore is a real store with domain a.test and its keys.
func keyStore(t testing.TB) store.DKIMKeys {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(context.Background(), "a.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := mailauth.GenerateKeys(context.Background(), st, "a.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return st
}

type world struct {
	keys store.DKIMKeys
	dns  *dnstest.Server
	v    *mailauth.Verifier
	s    *mailauth.Signer
}

func newWorld(t *testing.T) *world {
	w := &world{keys: keyStore(t), dns: dnstest.New(t)}
	recs, err := mailauth.DNSRecords(context.Background(), w.keys, "a.test", mailauth.RecordOptions{Hostname: "mx.a.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.Contains(r.Name, "._domainkey.") {
			w.dns.TXT(t, r.Name, r.Value)
		}
	}
	w.dns.TXT(t, "a.test.", "v=spf1 ip4:192.0.2.1 -all")
	w.dns.TXT(t, "_dmarc.a.test.", "v=DMARC1; p=reject")
	w.dns.TXT(t, "relaxed.test.", "v=spf1 ip4:192.0.2.9 -all")
	w.dns.TXT(t, "_dmarc.relaxed.test.", "v=DMARC1; p=quarantine; aspf=s")
	w.dns.TXT(t, "bounces.relaxed.test.", "v=spf1 ip4:192.0.2.9 -all")
	w.v = &mailauth.Verifier{Hostname: "mx.b.test", Resolver: dnsx.Via(w.dns.Addr)}
	w.s = &mailauth.Signer{Keys: w.keys}
	return w
}

const plain = "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@a.test>\r\n\r\nHello  Bob,\r\nbye\r\n"

func TestSignVerify(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	signed := w.s.Sign(ctx, []byte(plain))
	if n := strings.Count(string(signed), "DKIM-Signature:"); n != 2 {
		t.Fatalf("%d signatures:\n%s", n, signed)
	}
	if !strings.Contains(string(signed), "c=relaxed/relaxed") || !strings.Contains(string(signed), "h=From:From:") {
		t.Errorf("signature lacks relaxed/relaxed or From oversigning:\n%s", signed)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	r := w.v.Check(ctx, mailauth.Input{IP: ip, HELO: "mx.a.test", MailFrom: "alice@a.test", Data: signed})
	if r.Action != mailauth.Accept || r.DMARC != "pass" || len(r.DKIM) != 2 || r.DKIM[0].Value != "pass" || r.DKIM[1].Value != "pass" || r.SPF != "pass" {
		t.Fatalf("signed: %+v\n%s", r, r.Header)
	}
	// Relaxed body canonicalisation survives white space changes; a
	// changed word does not.
	reflowed := strings.Replace(string(signed), "Hello  Bob,", "Hello Bob, ", 1)
	if r := w.v.Check(ctx, mailauth.Input{IP: ip, MailFrom: "alice@a.test", Data: []byte(reflowed)}); r.DKIM[0].Value != "pass" {
		t.Errorf("relaxed: %s", r.Header)
	}
	tampered := strings.Replace(string(signed), "bye", "send money", 1)
	// From another IP too: SPF fails, DKIM fails, DMARC p=reject.
	r = w.v.Check(ctx, mailauth.Input{IP: netip.MustParseAddr("198.51.100.7"), MailFrom: "alice@a.test", Data: []byte(tampered)})
	if r.Action != mailauth.Reject || r.DMARC != "fail" || r.DKIM[0].Value != "fail" || r.SPF != "fail" {
		t.Fatalf("tampered: %+v\n%s", r, r.Header)
	}
	// An added From: header breaks the oversigned signature.
	twoFrom := strings.Replace(string(signed), "From: Alice", "From: mallory@evil.test\r\nFrom: Alice", 1)
	if r := w.v.Check(ctx, mailauth.Input{IP: ip, MailFrom: "alice@a.test", Data: []byte(twoFrom)}); r.DKIM[0].Value == "pass" {
		t.Errorf("added From: still passes: %s", r.Header)
	}
	// Unsigned, SPF passes and aligns: DMARC passes.
	if r := w.v.Check(ctx, mailauth.Input{IP: ip, MailFrom: "alice@a.test", Data: []byte(plain)}); r.DMARC != "pass" || r.Action != mailauth.Accept {
		t.Errorf("SPF-aligned: %+v", r)
	}
	// A domain without keys is left unsigned.
	other := strings.Replace(plain, "alice@a.test", "x@other.test", 1)
	if got := w.s.Sign(ctx, []byte(other)); string(got) != other {
		t.Error("signed mail of a foreign domain")
	}
}

func TestDMARCAlignment(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	msg := func(from string) []byte { return []byte("From: " + from + "\r\nSubject: x\r\n\r\nx\r\n") }
	ip9 := netip.MustParseAddr("192.0.2.9")
	for _, tc := range []struct {
		name, mailFrom, from string
		ip                   netip.Addr
		dmarc                string
		action               mailauth.Action
	}{
		{"strict SPF, exact domain", "x@relaxed.test", "y@relaxed.test", ip9, "pass", mailauth.Accept},
		{"strict SPF, subdomain does not align", "x@bounces.relaxed.test", "y@relaxed.test", ip9, "fail", mailauth.Quarantine},
		{"no DMARC record", "x@nodmarc.test", "y@nodmarc.test", ip9, "none", mailauth.Accept},
		{"subdomain inherits the organisation's policy", "x@evil.test", "y@sub.a.test", ip9, "fail", mailauth.Reject},
		{"no From", "x@a.test", "", ip9, "none", mailauth.Accept},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := msg(tc.from)
			if tc.from == "" {
				data = []byte("Subject: x\r\n\r\nx\r\n")
			}
			r := w.v.Check(ctx, mailauth.Input{IP: tc.ip, HELO: "h.test", MailFrom: tc.mailFrom, Data: data})
			if string(r.DMARC) != tc.dmarc || r.Action != tc.action {
				t.Errorf("got dmarc=%s action=%s, want %s %s\n%s", r.DMARC, r.Action, tc.dmarc, tc.action, r.Header)
			}
		})
	}
	// DNS trouble is never a reason to refuse.
	w.dns.Fail("_dmarc.broken.test", true)
	r := w.v.Check(ctx, mailauth.Input{IP: ip9, MailFrom: "x@broken.test", Data: msg("y@broken.test")})
	if r.Action != mailauth.Accept || r.DMARC != "temperror" {
		t.Errorf("temperror: %+v", r)
	}
}

func TestApplyRemovesForgedResults(t *testing.T) {
	w := newWorld(t)
	in := "Authentication-Results: MX.B.TEST; dmarc=pass\r\nAuthentication-Results: other.test; spf=pass\r\n" + plain
	r := w.v.Check(context.Background(), mailauth.Input{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "alice@a.test", Data: []byte(in)})
	out := string(r.Apply([]byte(in)))
	if strings.Count(out, "Authentication-Results: mx.b.test;") != 1 || strings.Contains(out, "MX.B.TEST") || !strings.Contains(out, "other.test; spf=pass") {
		t.Fatalf("apply:\n%s", out)
	}
	if !strings.HasSuffix(out, plain) {
		t.Fatal("message changed")
	}
}

// No corpus message makes the checks or the signer fail or hang.
func TestCorpus(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, f := range testutil.CorpusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = message.ToCRLF(b)
		r := w.v.Check(ctx, mailauth.Input{IP: netip.MustParseAddr("192.0.2.1"), HELO: "x.test", MailFrom: "a@a.test", Data: b})
		if r.Header == "" || !strings.HasSuffix(r.Header, "\r\n") {
			t.Fatalf("%s: header %q", f, r.Header)
		}
		_ = r.Apply(b)
		_ = w.s.Sign(ctx, b)
	}
}

func BenchmarkSign(b *testing.B) {
	s := &mailauth.Signer{Keys: keyStore(b)}
	msg := []byte(plain + strings.Repeat("a line of body text, as mail has\r\n", 100))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(ctx, msg)
	}
}
