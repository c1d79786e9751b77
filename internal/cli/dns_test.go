package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
)

func testEnv(t *testing.T, cfgText string) (*Env, string, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mailhouse.toml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &bytes.Buffer{},
		OpenStore: func(c *config.Config) (store.Store, error) {
			_ = os.MkdirAll(c.DataPath(), 0o750)
			return sqlstore.Open(context.Background(), sqlstore.Options{Path: c.DataPath("mailhouse.db")})
		}}
	return env, path, &out
}

func TestDomainDNS(t *testing.T) {
	env, cfg, out := testEnv(t, `hostname = "mail.example.com"
[listen]
smtp = ["0.0.0.0:25"]
submission = ["0.0.0.0:587"]
submissions = ["0.0.0.0:465"]
imaps = ["0.0.0.0:993"]
pop3 = ["0.0.0.0:110"]
https = ["0.0.0.0:443"]
`)
	c, _ := config.Load(cfg)
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"example.com", "xn--bcher-kva.example"} {
		if _, err := st.AddDomain(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	if err := DomainDNS(env, []string{"Example.COM", "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"example.com.\t3600\tIN\tMX\t10 mail.example.com.\n",
		"example.com.\t3600\tIN\tTXT\t\"v=spf1 mx -all\"\n",
		"_submissions._tcp.example.com.\t3600\tIN\tSRV\t0 1 465 mail.example.com.\n",
		"_submission._tcp.example.com.\t3600\tIN\tSRV\t10 1 587 mail.example.com.\n",
		"_imaps._tcp.example.com.\t3600\tIN\tSRV\t0 1 993 mail.example.com.\n",
		"_imap._tcp.example.com.\t3600\tIN\tSRV\t0 0 0 .\n", // off in this config
		"_pop3s._tcp.example.com.\t3600\tIN\tSRV\t0 0 0 .\n",
		"_pop3._tcp.example.com.\t3600\tIN\tSRV\t30 1 110 mail.example.com.\n",
		"autoconfig.example.com.\t3600\tIN\tCNAME\tmail.example.com.\n",
		"autodiscover.example.com.\t3600\tIN\tCNAME\tmail.example.com.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	// Every line is a comment or a five-field record.
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(l, ";") && len(strings.Split(l, "\t")) != 5 {
			t.Errorf("not a zone-file line: %q", l)
		}
	}

	out.Reset()
	if err := DomainDNS(env, []string{"--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "; DNS records for bücher.example") || !strings.Contains(out.String(), "xn--bcher-kva.example.\t3600\tIN\tMX") {
		t.Errorf("all-domains output:\n%s", out.String())
	}

	if err := DomainDNS(env, []string{"other.example", "--config", cfg}); err == nil || !strings.Contains(err.Error(), "not hosted") {
		t.Errorf("unknown domain: %v", err)
	}
	if err := DomainDNS(env, []string{"a", "b", "--config", cfg}); err != ErrUsage {
		t.Errorf("two domains: %v", err)
	}
}
