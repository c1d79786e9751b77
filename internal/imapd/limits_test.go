package imapd_test

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/netx"
)

// TestConnsPerIP: the app wraps plaintext listeners in
// netx.LimitListener with Busy; a connection over the per-IP limit gets
// "* BYE [UNAVAILABLE]".
func TestConnsPerIP(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.Serve(netx.LimitListener(ln, netx.Limits{PerIP: 2, Total: 100}, imapd.Busy), false)
	a := dialRaw(t, ln.Addr().String(), nil)
	dialRaw(t, ln.Addr().String(), nil)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	third := &client{t: t, conn: c, r: newReader(c)}
	third.expect("* BYE [UNAVAILABLE] too many connections from your address")
	a.ok("LOGOUT")
}

// FuzzListPattern checks LIST pattern matching against a regular
// expression built from the pattern.
func FuzzListPattern(f *testing.F) {
	for _, s := range [][2]string{{"*", "a/b"}, {"%", "a/b"}, {"a/%", "a/b"}, {"*b*", "abc"}, {"%%%*%", "x/y/z"}, {"INBOX", "INBOX"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 {
			return
		}
		var re strings.Builder
		re.WriteString("^")
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString("(?s:.*)")
			case '%':
				re.WriteString("[^/]*")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString("$")
		want := regexp.MustCompile(re.String()).MatchString(name)
		if got := imapd.MatchPattern(pattern, name); got != want && isValidUTF8(pattern) && isValidUTF8(name) {
			t.Fatalf("matchPattern(%q, %q) = %v, want %v", pattern, name, got, want)
		}
	})
}
