package smtpd

import (
	"bytes"
	"net/mail"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// unquotePath undoes canonicalPath's quoting.
func unquotePath(p string) string {
	at := strings.LastIndexByte(p, '@')
	local, domain := p[:at], p[at:]
	if strings.HasPrefix(local, `"`) {
		var b strings.Builder
		for i := 1; i < len(local)-1; i++ {
			if local[i] == '\\' {
				i++
			}
			b.WriteByte(local[i])
		}
		local = b.String()
	}
	return local + domain
}

// Address rewriting: whatever the client sends as MAIL FROM, the result
// is refused or is a path that reads back (by net/mail too) as exactly
// the address given, with nothing that could break a header line.
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{
		"", "alice@example.test", "a b@x.test", `a"b\c@x.test`, "user@other.test@example.test",
		"user%other.test@example.test", "jörg@bücher.test", "b@[192.0.2.1]", "b@[IPv6:::1]",
		".a.@x", "a@x.", "@x", "a@", "a\r\n@x", "a@x\x00", "\xff@x", "(a)@x", "a@x_y-z.test",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := canonicalPath(in)
		if err != nil {
			return
		}
		if in == "" {
			if out != "" {
				t.Fatalf("null path became %q", out)
			}
			return
		}
		if !utf8.ValidString(out) || strings.ContainsAny(out, "\r\n\x00<>") && !strings.HasPrefix(out, `"`) {
			t.Fatalf("%q -> unsafe %q", in, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("%q -> control character in %q", in, out)
			}
		}
		if back := unquotePath(out); back != in {
			t.Fatalf("%q -> %q reads back as %q", in, out, back)
		}
		if again, err := canonicalPath(unquotePath(out)); err != nil || again != out {
			t.Fatalf("not stable: %q -> %q -> %q, %v", in, out, again, err)
		}
		if a, err := mail.ParseAddress("<" + out + ">"); err == nil && a.Address != in {
			t.Fatalf("%q -> %q, net/mail reads %q", in, out, a.Address)
		}
	})
}

// Header insertion: whatever the client's HELO, address and our id, the
// Received header is one well-formed field whose date reads back.
func FuzzReceivedHeader(f *testing.F) {
	f.Add("client.example", "bob@example.test", "abc-1", "mail.example.test", true, false, uint8(0))
	f.Add("evil)\r\n(by x;", "a b@x", "x.y", "", false, true, uint8(1))
	f.Add("[IPv6:::1]", "", "", "h", true, true, uint8(2))
	f.Add(strings.Repeat("a", 300), strings.Repeat("é", 100)+"@x", strings.Repeat("1", 100), strings.Repeat("h.", 200), false, false, uint8(3))
	f.Fuzz(func(t *testing.T, helo, rcpt, id, host string, auth, utf8 bool, ipSel uint8) {
		ips := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), {}, netip.MustParseAddr("::ffff:1.2.3.4")}
		date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
		h := receivedHeader(receivedInfo{
			helo: helo, remote: ips[int(ipSel)%len(ips)], hostname: host,
			auth: auth, utf8: utf8, id: id, rcpt: rcpt, date: date,
		})
		if !utf8Valid(h) {
			t.Fatalf("invalid UTF-8: %q", h)
		}
		v := checkHeaderField(t, h, "Received")
		semi := strings.LastIndexByte(v, ';')
		if semi < 0 {
			t.Fatalf("no date: %q", v)
		}
		got, err := mail.ParseDate(strings.TrimSpace(v[semi+1:]))
		if err != nil || !got.Equal(date) {
			t.Fatalf("date %q: %v %v", v[semi+1:], got, err)
		}
		if depth := parenDepth(v[:semi]); depth != 0 {
			t.Fatalf("unbalanced comments in %q", v)
		}
		if strings.Count(v[:semi], ";") != 0 {
			t.Fatalf("';' before the date in %q", v)
		}
	})
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// parenDepth returns the comment nesting left open (or -1 if a ')' comes
// first), ignoring parentheses inside <...> and quoted strings.
func parenDepth(s string) int {
	depth, inAngle, inQuote := 0, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"' && inAngle:
			inQuote = true
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == '(' && !inAngle:
			depth++
		case c == ')' && !inAngle:
			depth--
			if depth < 0 {
				return -1
			}
		}
	}
	return depth
}

// The sender check cannot be dodged: a From: field at the top of the
// header is always reported (or the message refused), whatever follows.
func FuzzSenderAddresses(f *testing.F) {
	for _, s := range []string{
		"To: b@x\r\n\r\nbody", "From: c@x\r\n", "From :\r\n d@x\r\n\r\n", "\r\n\r\n", "Sender: <<>>\r\n",
		"From: =?utf-8?b?////?= <e@x>\r\n", "From: g: a@x, b@y;\r\n\r\n", "X\x00: y\r\n", " folded\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rest []byte) {
		msg := append([]byte("From: <first@x.test>\r\nX-Pad: 1\r\n"), rest...)
		addrs, err := senderAddresses(msg)
		if err != nil {
			return
		}
		found := false
		for _, a := range addrs {
			if a == "first@x.test" {
				found = true
			}
		}
		if !found {
			t.Fatalf("From: address missing from %q for %q", addrs, msg)
		}
		if len(addrs) > maxSenderAddresses {
			t.Fatalf("%d addresses", len(addrs))
		}
		// Without the From: line, anything it reports comes from the input.
		other, err := senderAddresses(rest)
		if err == nil {
			for _, a := range other {
				if a == "" {
					t.Fatalf("empty address from %q", rest)
				}
			}
		}
	})
}

// The body check agrees with a plain reference, however the data is cut
// into reads.
func FuzzBodyReader(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\nb", "a\rb", "a\r", "\x00", "\r\n.\r\n", "x\r\r\n"} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, data, chunks []byte) {
		const max = 64
		out, err := readBody(data, max, chunks)
		want := bodyVerdict(data, max)
		if want == nil && err != nil || want != nil && err != want {
			t.Fatalf("%q: got %v, want %v", data, err, want)
		}
		if err == nil && !bytes.Equal(out, data) {
			t.Fatalf("%q passed through as %q", data, out)
		}
	})
}

// The SASL decoders take any client bytes without panicking and only
// log in with what the client sent.
func FuzzSASL(f *testing.F) {
	f.Add([]byte("\x00alice@example.test\x00pw"), []byte("u"), []byte("p"))
	f.Add([]byte(""), []byte(""), []byte("\x00"))
	f.Fuzz(func(t *testing.T, plain, user, pass []byte) {
		var calls int
		login := func(z, u, p string) error {
			calls++
			if u == "" {
				t.Fatal("login with an empty user name")
			}
			return nil
		}
		_, done, err := (&plainServer{login: login}).Next(plain)
		if done != (err == nil) {
			t.Fatalf("PLAIN %q: done %v err %v", plain, done, err)
		}
		if done {
			z, u, p, perr := parsePlain(plain)
			if perr != nil || z+"\x00"+u+"\x00"+p != string(plain) {
				t.Fatalf("PLAIN %q parsed as %q %q %q", plain, z, u, p)
			}
		}
		l := &loginServer{login: login}
		_, _, _ = l.Next(nil)
		_, _, _ = l.Next(user)
		_, _, _ = l.Next(pass)
		if _, _, err := l.Next(pass); err == nil {
			t.Fatal("LOGIN accepted a fourth message")
		}
		if calls > 2 {
			t.Fatalf("%d logins", calls)
		}
	})
}
