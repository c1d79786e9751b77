package load

import (
	"bytes"
	"fmt"
	"time"
)

// words is filler text for message bodies.
var words = []string{"mail", "server", "bench", "message", "delivery", "queue", "inbox", "folder",
	"latency", "through", "the", "of", "and", "to", "a", "in", "is", "it", "that", "for"}

// Message returns an RFC 5322 text/plain message of about size bytes
// (at least its header), CRLF line endings, no line starting with '.',
// with a Message-ID unique to (worker, seq).
func Message(from, to string, size, worker, seq int) []byte {
	var b bytes.Buffer
	b.Grow(size + 128)
	fmt.Fprintf(&b, "From: Load Generator <%s>\r\n", from)
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	fmt.Fprintf(&b, "Subject: load test message %d.%d\r\n", worker, seq)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%d.%d@loadgen.test>\r\n", time.Now().UnixNano(), worker, seq)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	w := (worker*7919 + seq) % len(words)
	col := 0
	for b.Len() < size-2 {
		word := words[w%len(words)]
		w++
		if col+len(word)+1 > 72 {
			b.WriteString("\r\n")
			col = 0
		}
		if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
