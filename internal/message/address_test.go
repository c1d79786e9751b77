package message

import (
	"os"
	"strings"
	"testing"

	"mailhouse/internal/testutil"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"user@domain", "user@domain"},
		{"John Doe <john@example.com>", "John Doe <john@example.com>"},
		{`"Doe, John" <john@example.com>, jane@example.com`, "Doe, John <john@example.com>, jane@example.com"},
		{"user@domain (Real Name)", "Real Name <user@domain>"},
		{`"john \"jd\" doe"@example.com`, `john "jd" doe@example.com`},
		{"=?utf-8?q?J=C3=B6rg?= <j@example.de>", "Jörg <j@example.de>"},
		{`"=?utf-8?q?J=C3=B6rg?=" <j@example.de>`, "Jörg <j@example.de>"},
		{"=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "André Pirard <PIRARD@vm1.ulg.ac.be>"},
		{"Jürgen <j@example.de>", "Jürgen <j@example.de>"},
		{"J\xfcrgen <j@example.de>", "Jürgen <j@example.de>"},
		{"用户 <用户@例子.广告>", "用户 <用户@例子.广告>"},
		// Groups (RFC 5322 §3.4) as RFC 9051 markers.
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;", "group:, g1@d1.org, g2@d2.org, ;, group2:, g3@d3.org, ;"},
		{"undisclosed-recipients:;", "undisclosed-recipients:, ;"},
		{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", "A Group:, Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>, ;"},
		{`"My Group": a@b.c`, "My Group:, a@b.c, ;"},
		{`"": a@b.c; d@e.f`, "a@b.c, d@e.f"},
		// Obsolete routes.
		{"<@route:user@domain>", "@route:user@domain"},
		{"Name <@a.test,@b.test:user@c.test>", "Name <@a.test,@b.test:user@c.test>"},
		// Broken addresses keep what can be kept.
		{"undisclosed-recipients", "undisclosed-recipients@MISSING_DOMAIN"},
		{"John Smith", "John Smith <MISSING_MAILBOX@MISSING_DOMAIN>"},
		{"John Smith john@example.com", "John Smith <john@example.com>"},
		{"<>", "MISSING_MAILBOX@MISSING_DOMAIN"},
		{`""`, "MISSING_MAILBOX@MISSING_DOMAIN"},
		{"a@b.c,, ,d@e.f,", "a@b.c, d@e.f"},
		{"Joe <joe@example.com", "Joe <joe@example.com>"},
		{`"unterminated <x@y.z>`, "unterminated <x@y.z>"},
		{"(comment only)", ""},
		{")stray) a@b.c", "stray <a@b.c>"}, // fuzz: looped forever
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "Pete <pete@silly.test>"},
	}
	for _, tc := range tests {
		if got := addrs(ParseAddressList(tc.in)); got != tc.want {
			t.Errorf("ParseAddressList(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestParseAddressListBounded(t *testing.T) {
	s := strings.Repeat("a@b.c, ", MaxAddresses+10)
	if n := len(ParseAddressList(s)); n != MaxAddresses {
		t.Errorf("%d addresses kept, want MaxAddresses = %d", n, MaxAddresses)
	}
	g := "g: " + strings.Repeat("a@b.c, ", MaxAddresses+10) + ";"
	l := ParseAddressList(g)
	if len(l) > MaxAddresses+1 || !l[len(l)-1].IsGroupEnd() {
		t.Errorf("bounded group: %d entries, last %+v", len(l), l[len(l)-1])
	}
}

// TestAddressParsersAgree compares our tolerant parser with go-message's
// strict one on every address field of the corpus that the strict parser
// accepts: both must give the same addresses.
func TestAddressParsersAgree(t *testing.T) {
	checked := 0
	for _, f := range testutil.CorpusFiles(t) {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := Parse(msg)
		for _, fl := range Fields(s.Root.Header(msg)) {
			switch strings.ToLower(fl.Name) {
			case "from", "to", "cc", "bcc", "reply-to", "sender":
			default:
				continue
			}
			strict, ok := parseAddressesStrict(fl.Value)
			if !ok || strings.Contains(fl.Value, ":") { // net/mail flattens groups
				continue
			}
			checked++
			if a, b := addrs(strict), addrs(parseAddressesLax(fl.Value)); a != b {
				t.Errorf("%s %s: %q\nstrict %q\n   lax %q", f, fl.Name, fl.Value, a, b)
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d address fields compared", checked)
	}
}
