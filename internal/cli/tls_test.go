package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/acme"
	"mailhouse/internal/config"
	"mailhouse/internal/netx"
)

func TestTLSStatusFiles(t *testing.T) {
	env, cfgPath, out := testEnv(t, "hostname = \"mail.example.com\"\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := DefaultCertPaths(cfg)
	if err := netx.GenerateSelfSigned("mail.example.com", cert, key); err != nil {
		t.Fatal(err)
	}
	if err := TLSStatus(env, []string{"--config", cfgPath}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ACME is off", cert, "self-signed", "mail.example.com", "mailhouse self-signed mail.example.com"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTLSStatusBeforeFirstRun: with ACME on and no server run yet, the
// names it will manage are listed as pending, hosted domains included.
func TestTLSStatusBeforeFirstRun(t *testing.T) {
	env, cfgPath, out := testEnv(t, `hostname = "mail.example.com"
[listen]
https = ["0.0.0.0:443"]
[tls]
acme = true
acme_names = ["webmail.example.com"]
`)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDomain(context.Background(), "example.org"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := TLSStatus(env, []string{"--config", cfgPath}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"ACME directory: " + config.DefaultACMEDirectory,
		"has not run with ACME yet",
		"mail.example.com ", "webmail.example.com ",
		"autoconfig.example.org ", "autodiscover.example.org ", "mta-sts.example.org ",
		"pending: not tried yet",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "mail.example.com") > strings.Index(text, "autoconfig.example.org") {
		t.Errorf("hostname not first:\n%s", text)
	}
}

func TestPrintACMEStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := acme.NameStatus{Name: "mail.example.com", Issuer: "Let's Encrypt E5", NotBefore: now.AddDate(0, 0, -10),
		NotAfter: now.AddDate(0, 0, 80), RenewAt: now.AddDate(0, 0, 50), LastSuccess: now.AddDate(0, 0, -10)}
	failing := acme.NameStatus{Name: "autoconfig.example.com", LastAttempt: now.Add(-time.Minute), Failures: 3,
		LastError: "tls-alpn-01: DNS problem: NXDOMAIN", NextAttempt: now.Add(15 * time.Minute)}
	expiring := ok
	expiring.Name, expiring.NotAfter = "mta-sts.example.com", now.AddDate(0, 0, 3)
	expired := ok
	expired.Name, expired.NotAfter = "autodiscover.example.com", now.AddDate(0, 0, -1)

	var b bytes.Buffer
	if err := printACMEStatus(&b, acme.Report{Directory: "https://ca/dir", Updated: now, Names: []acme.NameStatus{ok}}, now); err != nil {
		t.Errorf("all good: %v", err)
	}
	if !strings.Contains(b.String(), "Let's Encrypt E5  2026-05-20 12:00 UTC  ok, renews 2026-04-20 12:00 UTC") {
		t.Errorf("good line:\n%s", b.String())
	}

	b.Reset()
	err := printACMEStatus(&b, acme.Report{Directory: "https://ca/dir", Updated: now, Names: []acme.NameStatus{ok, failing, expiring, expired}}, now)
	if err == nil || !strings.Contains(err.Error(), "failing for autoconfig.example.com") || !strings.Contains(err.Error(), "mta-sts.example.com, autodiscover.example.com") {
		t.Errorf("exit error: %v", err)
	}
	for _, want := range []string{
		"failing (3 in a row), next try 2026-03-01 12:15 UTC",
		"autoconfig.example.com, 2026-03-01 11:59 UTC: tls-alpn-01: DNS problem: NXDOMAIN",
		"expires soon", "EXPIRED",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
