package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchMbox is n messages of about 2 KB each.
func benchMbox(n int) []byte {
	var b bytes.Buffer
	body := strings.Repeat("A line of body text, as mail has them.\n", 50)
	for i := range n {
		fmt.Fprintf(&b, "From a@b.example Mon Jan  1 00:00:%02d 2001\nFrom: a@b.example\nSubject: %d\nMessage-ID: <%d@b>\nStatus: RO\nX-Status: A\n\n%s>From escaped\n\n", i%60, i, i, body)
	}
	return b.Bytes()
}

func BenchmarkMboxReader(b *testing.B) {
	data := benchMbox(1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := newMboxReader(bytes.NewReader(data), DefaultMaxMessageBytes)
		n := 0
		for {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			_, _, _ = mboxFlags(m.data)
			n++
		}
		if n != 1000 {
			b.Fatalf("%d messages", n)
		}
	}
}
