package smtpd

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net/mail"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestCanonicalPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"alice@example.test", "alice@example.test"},
		{"Alice.B+tag@Example.Test", "Alice.B+tag@Example.Test"},
		{"a b@x.test", `"a b"@x.test`},
		{`a"b\c@x.test`, `"a\"b\\c"@x.test`},
		{"user@other.test@example.test", `"user@other.test"@example.test`},
		{".a@x.test", `".a"@x.test`},
		{"jörg@bücher.test", "jörg@bücher.test"},
		{"bounce@[192.0.2.1]", "bounce@[192.0.2.1]"},
		{"bounce@[IPv6:2001:db8::1]", "bounce@[IPv6:2001:db8::1]"},
		{"a@x_y.test.", "a@x_y.test."},
	} {
		got, err := canonicalPath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("canonicalPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"no-at-sign", "@x.test", "a@", "a@x..test", "a@x test", "a@<x>", "a@x;y",
		"a\r\nb@x.test", "a\x00@x.test", "a@[1.2.3.4", "a@[a]b]", "\xff@x.test",
		strings.Repeat("a", 250) + "@x.test", "a@" + strings.Repeat("x", 64) + ".test",
	} {
		if got, err := canonicalPath(bad); err == nil {
			t.Errorf("canonicalPath(%q) = %q, want an error", bad, got)
		}
	}
}

// checkHeaderField checks that b is one well-formed, folded header field
// named name, and returns its unfolded value.
func checkHeaderField(t testing.TB, b []byte, name string) string {
	t.Helper()
	s := string(b)
	if !strings.HasPrefix(s, name+": ") || !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("not a %s field: %q", name, s)
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line %d longer than 998: %q", i, line)
		}
		if i > 0 && !strings.HasPrefix(line, "\t") {
			t.Fatalf("continuation line %d does not start with a tab: %q", i, s)
		}
		for _, c := range []byte(line) {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				t.Fatalf("control byte %#x in %q", c, s)
			}
		}
	}
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(s + "\r\n"))).ReadMIMEHeader()
	if err != nil || len(h) != 1 || len(h.Values(name)) != 1 {
		t.Fatalf("textproto reads %q as %v, %v", s, h, err)
	}
	return h.Get(name)
}

func TestReceivedHeader(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	st := &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	got := receivedHeader(receivedInfo{
		helo: "client.example", remote: netip.MustParseAddr("192.0.2.1"), hostname: "mail.example.test",
		tls: st, auth: true, id: "abc-1", rcpt: "bob@example.test", date: date,
	})
	want := "Received: from client.example ([192.0.2.1])\r\n" +
		"\t(using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n" +
		"\tby mail.example.test (mailhouse) with ESMTPSA id abc-1\r\n" +
		"\tfor <bob@example.test>; Wed, 04 Mar 2026 05:06:07 +0000\r\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A hostile HELO is neutralised; IPv6 literal; no TLS; several recipients.
	got = receivedHeader(receivedInfo{
		helo: "evil) (by\r\nX-Injected: 1;", remote: netip.MustParseAddr("2001:db8::1"),
		hostname: "mail.example.test", utf8: true, id: "x", date: date,
	})
	v := checkHeaderField(t, got, "Received")
	if !strings.HasPrefix(v, "from unknown ([IPv6:2001:db8::1]) (HELO evilbyX-Injected:1)") || !strings.Contains(v, "with UTF8SMTP id x") {
		t.Errorf("got %q", v)
	}
	if strings.Contains(v, " for ") {
		t.Errorf("for clause with no single recipient: %q", v)
	}
}

func TestSenderAddresses(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want []string
		err  bool
	}{
		{"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\n\r\nFrom: body@x.test\r\n", []string{"alice@example.test"}, false},
		{"from: a@x.test\r\nSENDER : s@x.test\r\n\r\n", []string{"a@x.test", "s@x.test"}, false},
		{"From: a@x.test\r\nFrom: b@x.test\r\n\r\n", []string{"a@x.test", "b@x.test"}, false},
		{"From:\r\n  \"A\" <a@x.test>,\r\n\tb@x.test\r\n\r\n", []string{"a@x.test", "b@x.test"}, false},
		{"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\n\r\n", []string{"j@x.test"}, false},
		{"From: =?x-unknown?q?abc?= <j@x.test>\r\n\r\n", []string{"j@x.test"}, false},
		{"From: undisclosed-recipients:;\r\n\r\n", nil, false},
		{"Subject: no from\r\n\r\n", nil, false},
		{"Subject: no separator\r\nFrom: late@x.test", []string{"late@x.test"}, false},
		{"Resent-From: r@x.test\r\nX-From: y@x.test\r\nFromage: z@x.test\r\n\r\n", nil, false},
		{"From: <<>>@@\r\n\r\n", nil, true},
		{"From:\r\n\r\n", nil, true},
		{"From: a@x.test\nSender: lf@x.test\n\n", []string{"a@x.test", "lf@x.test"}, false},
	} {
		got, err := senderAddresses([]byte(tc.msg))
		if (err != nil) != tc.err || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("senderAddresses(%q) = %q, %v; want %q, error %v", tc.msg, got, err, tc.want, tc.err)
		}
	}
	many := "From: " + strings.Repeat("a@x.test, ", maxSenderAddresses+1) + "a@x.test\r\n\r\n"
	if _, err := senderAddresses([]byte(many)); err == nil {
		t.Error("no error for too many addresses")
	}
}

// readBody reads data through a bodyReader in chunks of the given sizes.
func readBody(data []byte, max int64, chunks []byte) ([]byte, error) {
	r := &chunkReader{data: data, sizes: chunks}
	var out bytes.Buffer
	_, err := out.ReadFrom(&bodyReader{r: r, max: max})
	return out.Bytes(), err
}

// chunkReader returns data in reads of varying size, to exercise state
// carried across reads.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%17 + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// bodyVerdict is the reference for bodyReader: what it must answer.
// A bare CR counts where the byte after it is (or at the end).
func bodyVerdict(b []byte, max int64) error {
	for i, c := range b {
		switch {
		case i > 0 && b[i-1] == '\r' && c != '\n':
			return errBareCR
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return errBareLF
		case c == 0:
			return errNUL
		case int64(i) >= max:
			return errTooBig
		}
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return errBareCR
	}
	return nil
}

func TestBodyReader(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err *smtp.SMTPError
	}{
		{"a\r\nb\r\n", nil},
		{"", nil},
		{"no newline at end", nil},
		{"a\nb", errBareLF},
		{"\n", errBareLF},
		{"a\rb", errBareCR},
		{"a\r", errBareCR},
		{"a\r\r\n", errBareCR},
		{"a\x00b\r\n", errNUL},
		{strings.Repeat("x", 101), errTooBig},
	} {
		for _, chunks := range [][]byte{nil, {0}, {2, 5}} {
			_, err := readBody([]byte(tc.in), 100, chunks)
			if tc.err == nil && err != nil || tc.err != nil && err != error(tc.err) {
				t.Errorf("%q chunks %v: %v, want %v", tc.in, chunks, err, tc.err)
			}
		}
	}
}

func TestSASL(t *testing.T) {
	var got []string
	login := func(z, u, p string) error {
		got = append(got, z+"|"+u+"|"+p)
		if p != "pw" {
			return errAuthFailed
		}
		return nil
	}
	// PLAIN with and without an initial response.
	p := &plainServer{login: login}
	if _, done, err := p.Next([]byte("\x00u\x00pw")); !done || err != nil {
		t.Fatalf("PLAIN: %v %v", done, err)
	}
	p = &plainServer{login: login}
	if ch, done, err := p.Next(nil); done || err != nil || len(ch) != 0 {
		t.Fatalf("PLAIN empty challenge: %q %v %v", ch, done, err)
	}
	if _, _, err := p.Next([]byte("z\x00u\x00bad")); err != errAuthFailed {
		t.Fatalf("PLAIN bad password: %v", err)
	}
	for _, bad := range []string{"", "u", "\x00u", "\x00\x00pw", "a\x00b\x00c\x00d"} {
		if _, _, err := (&plainServer{login: login}).Next([]byte(bad)); err != errAuthSyntax {
			t.Errorf("PLAIN %q: %v", bad, err)
		}
	}
	// LOGIN, without and with an initial response.
	l := &loginServer{login: login}
	if ch, _, _ := l.Next(nil); string(ch) != "Username:" {
		t.Fatalf("LOGIN first challenge %q", ch)
	}
	if ch, _, _ := l.Next([]byte("u")); string(ch) != "Password:" {
		t.Fatalf("LOGIN second challenge %q", ch)
	}
	if _, done, err := l.Next([]byte("pw")); !done || err != nil {
		t.Fatalf("LOGIN: %v %v", done, err)
	}
	l = &loginServer{login: login}
	if ch, _, _ := l.Next([]byte("u2")); string(ch) != "Password:" {
		t.Fatalf("LOGIN with initial response: %q", ch)
	}
	if _, _, err := l.Next([]byte("nope")); err != errAuthFailed {
		t.Fatalf("LOGIN bad password: %v", err)
	}
	if _, _, err := l.Next([]byte("more")); err != errAuthSyntax {
		t.Fatalf("LOGIN after the end: %v", err)
	}
	want := "|u|pw,z|u|bad,|u|pw,|u2|nope"
	if strings.Join(got, ",") != want {
		t.Errorf("logins %q, want %q", strings.Join(got, ","), want)
	}
}

// net/mail is the independent reader used to check canonicalPath.
func parsedBack(t testing.TB, canon string) string {
	a, err := mail.ParseAddress("<" + canon + ">")
	if err != nil {
		t.Fatalf("net/mail cannot read %q: %v", canon, err)
	}
	return a.Address
}
