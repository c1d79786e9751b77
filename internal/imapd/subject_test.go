package imapd

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, base string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE:Hello", "Hello", true},
		{"re : Hello", "Hello", true},
		{"Fwd: Hello", "Hello", true},
		{"FW: Hello", "Hello", true},
		{"Re[2]: Hello", "Hello", true},
		{"Re [2] : Hello", "Hello", true},
		{"Re: Re: Fwd: Hello", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"[list] Re: Hello", "Hello", true},
		{"Re: [list] Re: Hello", "Hello", true},
		{"[list][other] Hello", "Hello", false},
		{"[PATCH]", "[PATCH]", false},
		{"[list] [PATCH]", "[PATCH]", false},
		{"Hello (fwd)", "Hello", true},
		{"Hello (FWD) (fwd)  ", "Hello", true},
		{"[fwd: Hello]", "Hello", true},
		{"[Fwd: Re: [list] Hello]", "Hello", true},
		{"Re: [fwd: [fwd: Hello] ]", "Hello", true},
		{"\tHello \t  world  ", "Hello world", false},
		{"Re:", "", true},
		{"", "", false},
		{"Reply to this", "Reply to this", false},
		{"Fwdx: Hello", "Fwdx: Hello", false},
		{"[日本語リスト] Re: こんにちは", "こんにちは", true},
		{"Re: [unterminated Hello", "[unterminated Hello", true},
		{"[a]", "[a]", false},
		{"Re: (fwd)", "", true},
		{"[a] [b] [c]", "[c]", false},
		{"[a] [b] Re: [c] x", "x", true},
		{"Fwd: [a][b]", "[b]", true},
	} {
		base, reply := baseSubject(tc.in)
		if base != tc.base || reply != tc.reply {
			t.Errorf("baseSubject(%q) = %q, %v; want %q, %v", tc.in, base, reply, tc.base, tc.reply)
		}
	}
}

// TestBaseSubjectLinear: a subject of many blobs, or of many leaders,
// takes linear time (the test would time out otherwise).
func TestBaseSubjectLinear(t *testing.T) {
	for _, s := range []string{strings.Repeat("[a]", 200_000), strings.Repeat("[a] re:", 100_000) + "x", strings.Repeat("[fwd: ", 50_000) + "x" + strings.Repeat("]", 50_000)} {
		baseSubject(s)
	}
}

// FuzzBaseSubject: never panics, keeps UTF-8 valid, never leaves edge
// spaces, and is idempotent: the base subject of a base subject is itself.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [list] Fwd: x (fwd)", "[fwd: [a] b]", "re[x]:", "[", "]", "[fwd:]", "Fw :  [b] a", "\t\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, _ := baseSubject(s)
		if utf8.ValidString(s) && !utf8.ValidString(base) {
			t.Fatalf("%q gave invalid UTF-8 %q", s, base)
		}
		if strings.HasPrefix(base, " ") || strings.HasSuffix(base, " ") {
			t.Fatalf("%q gave %q with edge spaces", s, base)
		}
		if again, _ := baseSubject(base); again != base {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, base, again)
		}
		if len(base) > len(s) {
			t.Fatalf("%q grew to %q", s, base)
		}
	})
}
