package acme

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
)

func TestBackoff(t *testing.T) {
	lo, hi := 2*time.Minute, 12*time.Hour
	want := []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}
	for i, w := range want {
		if got := backoff(i+1, lo, hi); got != w {
			t.Errorf("failure %d: %s, want %s", i+1, got, w)
		}
	}
	if got := backoff(1000, lo, hi); got != hi {
		t.Errorf("failure 1000: %s, want the cap %s", got, hi)
	}
}

func TestDirKey(t *testing.T) {
	for in, want := range map[string]string{
		config.DefaultACMEDirectory:                              "acme-v02.api.letsencrypt.org_directory",
		"https://acme-staging-v02.api.letsencrypt.org/directory": "acme-staging-v02.api.letsencrypt.org_directory",
		"https://127.0.0.1:14000/dir":                            "127.0.0.1_14000_dir",
		"https://ca.example/../../etc":                           "ca.example_.._.._etc",
		"":                                                       "default",
	} {
		if got := dirKey(in); got != want {
			t.Errorf("dirKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	err := errors.Join(errors.New("tls-alpn-01: refused\n\tdetail"), errors.New("http-01:  timeout"))
	if got := oneLine(err); got != "tls-alpn-01: refused; detail; http-01: timeout" {
		t.Errorf("oneLine: %q", got)
	}
	if got := oneLine(errors.New(strings.Repeat("x", 5000))); len(got) > 1010 {
		t.Errorf("not bounded: %d bytes", len(got))
	}
}

// TestStateFileHostile: a damaged status.json is reported, and names in
// it that are not DNS names never become file names.
func TestStateFileHostile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "status.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"names": [{"name": "../../etc/passwd"}, {"name": "Mail.Example.Test."}, {"name": ""}]}`)
	st, err := readState(dir)
	if err != nil || len(st.Names) != 1 || st.Names[0].Name != "mail.example.test" {
		t.Errorf("got %+v, %v", st, err)
	}
	write(`{"names": [`)
	if _, err := readState(dir); err == nil {
		t.Error("truncated status.json accepted")
	}
	if c, err := readCert(dir, "../x"); c != nil || err == nil {
		t.Error("readCert accepted a path")
	}
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"directory":"https://x/dir","updated":"2026-01-01T00:00:00Z","names":[{"name":"mail.example.test","failures":2,"last_error":"x","next_attempt":"2026-01-01T00:02:00Z"}]}`))
	f.Add([]byte(`{"names":[{"name":"../a"},{"name":"A.B."}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"names":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseState(b)
		if err != nil {
			return
		}
		for _, n := range st.Names {
			if !config.IsDNSName(n.Name) || strings.ContainsAny(n.Name, "/\\\x00") || n.Name != normalizeName(n.Name) {
				t.Fatalf("unsafe name %q kept", n.Name)
			}
		}
	})
}

func FuzzDirKey(f *testing.F) {
	for _, s := range []string{config.DefaultACMEDirectory, "https://127.0.0.1:14000/dir", "", "..", "https://a/../../b", "%2e%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := dirKey(s)
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\\\x00") || filepath.Base(k) != k {
			t.Fatalf("dirKey(%q) = %q is not one safe folder name", s, k)
		}
	})
}
