package directory

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Bob@Example.COM", "bob@example.com"},
		{"bob@example.com.", "bob@example.com"},
		{"bob+news@example.com", "bob+news@example.com"},
		{"José@Bücher.example", "josé@xn--bcher-kva.example"},
		{`"bob"@example.com`, "bob@example.com"},
		{"a.b-c_d@x.y", "a.b-c_d@x.y"},
		{"postmaster@localhost", "postmaster@localhost"},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, in := range []string{
		"", "bob", "@example.com", "bob@", "bob@@example.com",
		"bob@exa mple.com", "bo b@example.com", "bob@[127.0.0.1]",
		`"bob@other.test"@example.com`, `"a\"b"@example.com`, "@relay:bob@other.test",
		".bob@example.com", "bob.@example.com", "b..ob@example.com",
		"bob@-example.com", "bob@example..com", "bob@exa_mple.com",
		"bob<x>@example.com", "bob\x00@example.com", "bob@example.com\r\n",
		strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 260),
	} {
		if got, err := Normalize(in); err == nil || !errors.Is(err, ErrBadAddress) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrBadAddress", in, got, err)
		}
	}
}

func TestRelayTricksStayLocal(t *testing.T) {
	// A %-hack or a second @ must never yield another domain.
	for _, in := range []string{"user%other.test@example.com", "user@other.test@example.com"} {
		got, err := Normalize(in)
		if err == nil && !strings.HasSuffix(got, "@example.com") {
			t.Errorf("Normalize(%q) = %q routes elsewhere", in, got)
		}
		if err == nil && strings.Count(got, "@") != 1 {
			t.Errorf("Normalize(%q) = %q keeps two @", in, got)
		}
	}
}

func TestStripPlusAndDisplay(t *testing.T) {
	if got := StripPlus("bob+a+b@x.y"); got != "bob@x.y" {
		t.Errorf("StripPlus = %q", got)
	}
	if got := StripPlus("+bob@x.y"); got != "+bob@x.y" {
		t.Errorf("StripPlus leading = %q", got)
	}
	if got := DisplayAddress("josé@xn--bcher-kva.example"); got != "josé@bücher.example" {
		t.Errorf("DisplayAddress = %q", got)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"bob@example.com", "José@Bücher.example", `"a"@b.c`, "user%x@y.z", "a@b@c", "@r:a@b", "a+b@c.d", "\xff@x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("error not ErrBadAddress: %v", err)
			}
			return
		}
		if !utf8.ValidString(got) || strings.Count(got, "@") != 1 || len(got) > 64+1+253 {
			t.Fatalf("Normalize(%q) = %q", in, got)
		}
		if strings.ContainsAny(got, " \r\n\t<>\"\\") {
			t.Fatalf("Normalize(%q) = %q has a forbidden character", in, got)
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, err)
		}
	})
}
