package config

import (
	"net"
	"slices"
	"strings"
	"testing"
)

const acmeBase = "hostname = \"mail.example.com\"\n[listen]\nhttps = [\"0.0.0.0:443\"]\n[tls]\nacme = true\n"

func TestACMEDefaults(t *testing.T) {
	c, err := Parse([]byte(acmeBase+"acme_names = [\"Webmail.Example.com.\"]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.ACMEDirectory != DefaultACMEDirectory {
		t.Errorf("directory %q, want Let's Encrypt production", c.TLS.ACMEDirectory)
	}
	if !slices.Equal(c.TLS.ACMEDomainPrefixes, []string{"autoconfig", "autodiscover", "mta-sts"}) {
		t.Errorf("prefixes %q", c.TLS.ACMEDomainPrefixes)
	}
	if !slices.Equal(c.TLS.ACMENames, []string{"webmail.example.com"}) {
		t.Errorf("names not normalised: %q", c.TLS.ACMENames)
	}

	c, err = Parse([]byte(acmeBase+"acme_domain_prefixes = []\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TLS.ACMEDomainPrefixes) != 0 {
		t.Errorf("explicit empty prefixes became %q", c.TLS.ACMEDomainPrefixes)
	}

	// ACME keys are checked only when acme = true.
	if _, err := Parse([]byte("hostname = \"localhost\"\n[tls]\nacme_names = [\"*.x\"]\n"), t.TempDir()); err != nil {
		t.Errorf("acme off: %v", err)
	}
}

func TestACMEErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"localhost", "hostname = \"localhost\"\n[listen]\nhttps = [\"0.0.0.0:443\"]\n[tls]\nacme = true\n", `line 5: tls.acme: hostname "localhost"`},
		{"ip hostname", "hostname = \"192.0.2.1\"\n[listen]\nhttps = [\"0.0.0.0:443\"]\n[tls]\nacme = true\n", "tls.acme: hostname"},
		{"no listener", "hostname = \"mail.example.com\"\n[tls]\nacme = true\n", "tls.acme: needs listen.https"},
		{"http directory", acmeBase + "acme_directory = \"http://ca.example/dir\"\n", `line 6: tls.acme_directory: "http://ca.example/dir" is not an https:// URL`},
		{"email", acmeBase + "acme_email = \"postmaster\"\n", `tls.acme_email: "postmaster" is not an email address`},
		{"wildcard", acmeBase + "acme_names = [\"*.example.com\"]\n", "wildcard names need DNS-01"},
		{"bad name", acmeBase + "acme_names = [\"a..b\"]\n", `tls.acme_names: "a..b"`},
		{"numeric tld", acmeBase + "acme_names = [\"1.2.3.4\"]\n", `tls.acme_names: "1.2.3.4"`},
		{"prefix with dot", acmeBase + "acme_domain_prefixes = [\"imap.mail\"]\n", `tls.acme_domain_prefixes: "imap.mail" is not one DNS label`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestIsDNSName(t *testing.T) {
	for name, want := range map[string]bool{
		"mail.example.com": true, "xn--bcher-kva.example": true, "a-b.c": true,
		"localhost": false, "mail.localhost": false, "example": false, "-a.b": false,
		"a_b.c": false, "b\u00fccher.example": false, "::1": false, "10.0.0.1": false,
		strings.Repeat("a", 64) + ".com": false, "": false, "a.b.": false,
	} {
		if got := IsDNSName(name); got != want {
			t.Errorf("IsDNSName(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzIsDNSName(f *testing.F) {
	for _, s := range []string{"mail.example.com", "localhost", "1.2.3.4", "::1", "a..b", "-a.b", "xn--bcher-kva.example", "a.b."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !IsDNSName(s) {
			return
		}
		if len(s) > 253 || net.ParseIP(s) != nil || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" ||
			strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || !strings.Contains(s, ".") {
			t.Fatalf("IsDNSName(%q) = true", s)
		}
	})
}
