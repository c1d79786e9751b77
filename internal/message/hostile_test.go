package message

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostileDeadline bounds each hostile input below; each is about 1 MB and
// built to trip a quadratic loop. Linear code takes milliseconds to a few
// hundred (a million address tokens: ~0.3 s, most of it growing slices
// and the GC scanning them), some seconds on a loaded CI machine; a
// quadratic loop over a megabyte takes minutes. The bound tells the two
// apart without timing the linear code.
const hostileDeadline = 20 * time.Second

// TestHostileInputs checks inputs made to exhaust time, memory or stack.
func TestHostileInputs(t *testing.T) {
	var nestedMultipart, nestedMessage strings.Builder
	for i := 0; i < 2*MaxDepth; i++ {
		fmt.Fprintf(&nestedMultipart, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
		nestedMessage.WriteString("Content-Type: message/rfc822\n\n")
	}
	var manyParams strings.Builder
	manyParams.WriteString("Content-Type: text/plain")
	for i := 0; manyParams.Len() < 1<<20; i++ {
		fmt.Fprintf(&manyParams, "; p%d*0*=utf-8''%%41", i)
	}
	manyParams.WriteString("\n\nx\n")

	tests := []struct {
		name string
		msg  string
		// check, if set, inspects the result.
		check func(t *testing.T, s *Structure)
	}{
		{"unclosed encoded-words", "Subject: " + strings.Repeat("=?a?q?", 170000) + "\n\n", nil},
		{"unclosed charsets", "Subject: " + strings.Repeat("=?aaaa", 170000) + "\n\n", nil},
		{"escaped quotes in address", "To: " + strings.Repeat(`"\`, 500000) + "\n\n", nil},
		{"many quotes in address", "To: " + strings.Repeat(`a"`, 500000) + "\n\n", nil},
		{"nested comments", "To: " + strings.Repeat("(", 500000) + strings.Repeat(")", 500000) + "\n\n", nil},
		{"many groups", "To: " + strings.Repeat("g:a@b;", 170000) + "\n\n", func(t *testing.T, s *Structure) {
			if len(s.Envelope.To) > MaxAddresses {
				t.Errorf("%d addresses", len(s.Envelope.To))
			}
		}},
		{"many colons", "To: " + strings.Repeat("a@b:", 250000) + "\n\n", nil},
		{"many RFC 2231 parameters", manyParams.String(), func(t *testing.T, s *Structure) {
			if len(s.Root.Params) > maxParams {
				t.Errorf("%d parameters", len(s.Root.Params))
			}
		}},
		{"blanks in a parameter", "Content-Type: text/plain; a=" + strings.Repeat(" ", 1<<20) + "b\n\n", nil},
		{"many boundary lines", "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n", 250000), func(t *testing.T, s *Structure) {
			if n := len(s.Root.Parts); n == 0 || n > MaxParts {
				t.Errorf("%d parts", n)
			}
		}},
		{"boundary inside lines", "Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("x--b", 250000), nil},
		{"deep multipart", nestedMultipart.String(), nil},
		{"deep message/rfc822", strings.Repeat(nestedMessage.String(), 50), nil},
		{"many header fields", strings.Repeat("X: y\n", 200000) + "\nbody", nil},
		{"one huge folded field", "Subject: a" + strings.Repeat("\n b", 300000) + "\n\n", nil},
		{"junk header lines", "A: b\n" + strings.Repeat("junk\nA: b\n", 100000) + "\n", nil},
		{"html tags", "Content-Type: text/html\n\n" + strings.Repeat("<a ", 300000), nil},
		{"html attributes", "Content-Type: text/html\n\n<p " + strings.Repeat("a='>' ", 150000) + ">x", nil},
		{"html comments", "Content-Type: text/html\n\n" + strings.Repeat("<!-", 300000), nil},
		{"html script starts", "Content-Type: text/html\n\n" + strings.Repeat("<script></scrip", 60000), nil},
		{"base64 junk", "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + strings.Repeat("=", 1<<20), nil},
		{"references", "References: " + strings.Repeat("<a <b", 200000) + "\n\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := []byte(tc.msg)
			done := make(chan *Structure, 1)
			start := time.Now()
			go func() {
				s := Parse(msg)
				Text(msg, s, 1<<20)
				if _, err := Unmarshal(s.Marshal()); err != nil {
					t.Error(err)
				}
				done <- s
			}()
			select {
			case s := <-done:
				if p := invariantProblem(msg, s); p != "" {
					t.Error(p)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				t.Logf("%v", time.Since(start))
			case <-time.After(hostileDeadline):
				t.Fatalf("not done after %v", hostileDeadline)
			}
		})
	}
}
