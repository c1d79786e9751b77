package smtpclient

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n", "250-mx.example\r\n250-SIZE 1000\r\n250 SMTPUTF8\r\n", "550 5.1.1 no\r\n",
		"250-a\r\n251 b\r\n", "2\r\n", "999 x\r\n", "250x\r\n", "421-\r\n", strings.Repeat("250-x\r\n", 200),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := readReply(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if r.code < 200 || r.code > 599 || len(r.text) > maxReplyBytes+maxLine {
			t.Fatalf("accepted %+v", r)
		}
		e := r.err("h")
		if e.Enhanced != "" && !isEnhanced(e.Enhanced, r.code) {
			t.Fatalf("bad enhanced code %q", e.Enhanced)
		}
		_ = parseEHLO(r.text)
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"))
	f.Add([]byte("version: STSv1\nmode: testing\nmx: *.\nmax_age: 99999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > maxPolicyAge || (p.Mode != ModeNone && len(p.MX) == 0) {
			t.Fatalf("accepted %+v", p)
		}
		for _, m := range p.MX {
			p.Match(m)
			p.Match("x." + m)
		}
	})
}
