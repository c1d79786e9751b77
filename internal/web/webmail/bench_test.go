package webmail_test

import (
	"fmt"
	"os"
	"testing"

	"mailhouse/internal/message"
	"mailhouse/internal/testutil"
)

// BenchmarkListPage: a page of 50 rows (with previews) of a 500-message
// INBOX, through HTTPS.
func BenchmarkListPage(b *testing.B) {
	e := start(b, "alice")
	for i := 0; i < 500; i++ {
		deliver(b, e.st, "alice@example.test", simple("Someone <someone@elsewhere.example>", "alice@example.test", fmt.Sprintf("message %d", i), "a short body of text for the preview line"))
	}
	c := e.login(b, "alice")
	path := folderPath(b, e.st, "alice@example.test", "INBOX")
	b.ResetTimer()
	for b.Loop() {
		if r := c.get(path); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}

// BenchmarkSearchBody: a body search that scans all 500 messages.
func BenchmarkSearchBody(b *testing.B) {
	e := start(b, "alice")
	for i := 0; i < 500; i++ {
		deliver(b, e.st, "alice@example.test", simple("Someone <someone@elsewhere.example>", "alice@example.test", fmt.Sprintf("message %d", i), "a short body of text"))
	}
	c := e.login(b, "alice")
	path := folderPath(b, e.st, "alice@example.test", "INBOX") + "?q=body:notfound"
	b.ResetTimer()
	for b.Loop() {
		if r := c.get(path); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}

// BenchmarkMessagePage: the page of an HTML newsletter from the corpus
// (sanitised to count its remote images) beside its folder's list.
func BenchmarkMessagePage(b *testing.B) {
	e := start(b, "alice")
	var biggest []byte
	for _, p := range testutil.CorpusFiles(b) {
		data, err := os.ReadFile(p)
		if err == nil && len(data) > len(biggest) && len(data) < 200<<10 && message.Parse(data).Root.Type == "multipart" {
			biggest = data
		}
	}
	d := deliverBytes(b, e.st, "alice@example.test", message.ToCRLF(biggest))
	c := e.login(b, "alice")
	path := msgPath(b, e.st, "alice@example.test", "INBOX", d.UID)
	b.SetBytes(int64(len(biggest)))
	b.ResetTimer()
	for b.Loop() {
		if r := c.get(path); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}
