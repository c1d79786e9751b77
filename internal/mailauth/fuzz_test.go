package mailauth

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzStripAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.b.test; dmarc=pass\r\nFrom: a@a.test\r\n\r\nbody\r\n"))
	f.Add([]byte("From: a@a.test\r\nAuthentication-Results: other.test;\r\n\tspf=pass\r\n\r\n"))
	f.Add([]byte("Authentication-Results:mx.b.test(comment);none\r\n"))
	f.Add([]byte("\r\nAuthentication-Results: mx.b.test; x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := StripAuthResults(b, "mx.b.test")
		if len(out) > len(b) {
			t.Fatalf("grew: %q -> %q", b, out)
		}
		// What follows the header is never touched.
		h := headerSection(b)
		if !bytes.HasSuffix(out, b[len(h):]) {
			t.Fatalf("body changed: %q -> %q", b, out)
		}
		for _, d := range authorDomains(b) {
			if strings.ContainsAny(d, "\r\n") {
				t.Fatalf("domain %q", d)
			}
		}
		_ = fromDomain(b)
	})
}
