package autoconfig

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/directory"
)

func testSettings() Settings {
	return Settings{
		Hostname: "mail.example.com",
		Endpoints: []Endpoint{
			{SMTP, 587, SecSTARTTLS}, {IMAP, 143, SecSTARTTLS}, {IMAP, 993, SecTLS},
			{SMTP, 465, SecTLS}, {POP3, 995, SecTLS}, {IMAP, 993, SecTLS},
		},
		HTTPSPort: 443,
	}
}

func TestFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`hostname = "mx.example.org"
[listen]
smtp = [":25"]
imaps = [":993", "127.0.0.1:0"]
submission = [":587", ":2525"]
https = [":8443"]
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := FromConfig(cfg)
	want := []Endpoint{{IMAP, 993, SecTLS}, {SMTP, 587, SecSTARTTLS}, {SMTP, 2525, SecSTARTTLS}}
	if !slices.Equal(s.Endpoints, want) || s.HTTPSPort != 8443 || s.Hostname != "mx.example.org" {
		t.Errorf("got %+v", s)
	}
	if s.BaseURL() != "https://mx.example.org:8443" {
		t.Errorf("BaseURL %s", s.BaseURL())
	}
}

func TestSortedPrefersImplicitTLS(t *testing.T) {
	got := Sorted(testSettings().Endpoints)
	want := []Endpoint{{IMAP, 993, SecTLS}, {IMAP, 143, SecSTARTTLS}, {POP3, 995, SecTLS}, {SMTP, 465, SecTLS}, {SMTP, 587, SecSTARTTLS}}
	if !slices.Equal(got, want) {
		t.Errorf("Sorted = %v", got)
	}
}

func TestDNSRecords(t *testing.T) {
	recs := DNSRecords(testSettings(), "example.com")
	lines := map[string]bool{}
	for _, r := range recs {
		lines[r.String()] = true
	}
	for _, want := range []string{
		"example.com.\t3600\tIN\tMX\t10 mail.example.com.",
		"example.com.\t3600\tIN\tTXT\t\"v=spf1 mx -all\"",
		"_imaps._tcp.example.com.\t3600\tIN\tSRV\t0 1 993 mail.example.com.",
		"_imap._tcp.example.com.\t3600\tIN\tSRV\t10 1 143 mail.example.com.",
		"_pop3s._tcp.example.com.\t3600\tIN\tSRV\t20 1 995 mail.example.com.",
		"_pop3._tcp.example.com.\t3600\tIN\tSRV\t0 0 0 .", // RFC 6186 §4: not offered
		"_submissions._tcp.example.com.\t3600\tIN\tSRV\t0 1 465 mail.example.com.",
		"_submission._tcp.example.com.\t3600\tIN\tSRV\t10 1 587 mail.example.com.",
		"autoconfig.example.com.\t3600\tIN\tCNAME\tmail.example.com.",
		"autodiscover.example.com.\t3600\tIN\tCNAME\tmail.example.com.",
		"_autodiscover._tcp.example.com.\t3600\tIN\tSRV\t0 0 443 mail.example.com.",
	} {
		if !lines[want] {
			t.Errorf("missing %q", want)
		}
	}
	if len(recs) != 11 {
		t.Errorf("%d records", len(recs))
	}
}

func TestZoneSources(t *testing.T) {
	dkim := func(_ context.Context, d string) ([]Record, error) {
		return []Record{{Name: "mh1._domainkey." + d + ".", TTL: DefaultTTL, Type: "TXT", Data: TXT("v=DKIM1; k=ed25519; p=" + strings.Repeat("A", 300))}}, nil
	}
	recs, err := Zone(context.Background(), testSettings(), "example.com", dkim)
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Type != "TXT" || !strings.HasPrefix(last.Name, "mh1._domainkey.") {
		t.Fatalf("source record missing: %+v", last)
	}
	// RFC 1035 §3.3.14: character-strings of at most 255 bytes.
	if parts := strings.Split(last.Data, `" "`); len(parts) != 2 || len(strings.Trim(parts[0], `"`)) != 255 {
		t.Errorf("long TXT not split: %s", last.Data)
	}
	fail := func(context.Context, string) ([]Record, error) { return nil, errors.New("boom") }
	if _, err := Zone(context.Background(), testSettings(), "example.com", fail); err == nil {
		t.Error("source error lost")
	}
	if txt := ZoneText("example.com", recs); !strings.Contains(txt, "; not offered (RFC 6186 §4)\n_pop3._tcp") {
		t.Errorf("zone text:\n%s", txt)
	}
}

func TestTXTQuoting(t *testing.T) {
	if got := TXT(`a "b" \c`); got != `"a \"b\" \\c"` {
		t.Errorf("TXT = %s", got)
	}
}

func TestMobileConfigNeedsIncoming(t *testing.T) {
	s := Settings{Hostname: "h.example", Endpoints: []Endpoint{{SMTP, 465, SecTLS}}}
	if _, err := MobileConfig(s, "a@example.com"); !errors.Is(err, errNoIncoming) {
		t.Errorf("err = %v", err)
	}
	s.Endpoints = append(s.Endpoints, Endpoint{POP3, 995, SecTLS})
	b, err := MobileConfig(s, "a@example.com")
	if err != nil || !bytes.Contains(b, []byte("EmailTypePOP")) {
		t.Errorf("POP3-only profile: %v\n%s", err, b)
	}
}

// wellFormed checks that b is one well-formed XML document.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// FuzzAutodiscoverRequest: any body parses or fails cleanly, and an
// accepted address always yields a well-formed answer naming it.
func FuzzAutodiscoverRequest(f *testing.F) {
	f.Add(`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>a@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>"a b"@example.com</EMailAddress></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>&lt;x&gt;@b</EMailAddress></Request></Autodiscover>`)
	f.Add(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>a@bücher.example</EMailAddress></Request></Autodiscover>`)
	f.Add(``)
	f.Add(`<a>`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := ParseAutodiscoverRequest(strings.NewReader(body))
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error not ErrBadRequest: %v", err)
			}
			return
		}
		addr, err := directory.Normalize(req.EMailAddress)
		if err != nil {
			return
		}
		out, err := xml.Marshal(Autodiscover(testSettings(), addr))
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(out); err != nil {
			t.Fatalf("answer not well-formed: %v\n%s", err, out)
		}
		var back struct {
			Names []string `xml:"Response>Account>Protocol>LoginName"`
		}
		if err := xml.Unmarshal(out, &back); err != nil || len(back.Names) == 0 || back.Names[0] != addr {
			t.Fatalf("LoginName %q, want %q (%v)", back.Names, addr, err)
		}
	})
}

// FuzzDocuments: every address Normalize accepts gives well-formed
// Thunderbird and Apple documents.
func FuzzDocuments(f *testing.F) {
	for _, s := range []string{"a@example.com", `"x<y>&"@example.com`, "ü@bücher.example", "a+b@x.y", "]]>@x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		addr, err := directory.Normalize(in)
		if err != nil {
			return
		}
		_, domain, _ := directory.Split(addr)
		tb, err := xml.Marshal(Thunderbird(testSettings(), domain))
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(tb); err != nil {
			t.Fatalf("thunderbird: %v", err)
		}
		mc, err := MobileConfig(testSettings(), addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(mc); err != nil {
			t.Fatalf("mobileconfig: %v\n%s", err, mc)
		}
	})
}
