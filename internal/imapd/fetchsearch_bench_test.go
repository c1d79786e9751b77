package imapd_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// fillDistinct delivers n distinct messages of about 4 KB (each its own
// body and structure, as real mail) to alice's INBOX, every third seen.
func fillDistinct(b testing.TB, ts *testServer, n int) {
	b.Helper()
	mb := ts.Mailbox(b, alice(), "INBOX")
	for i := range n {
		var body strings.Builder
		fmt.Fprintf(&body, "From: Sender %d <sender%d@example.org>\r\nTo: alice@example.test\r\nSubject: report number %d\r\n"+
			"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <m%d@example.org>\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\n", i, i, i, i)
		for body.Len() < 4096 {
			fmt.Fprintf(&body, "line %d of message %d, some words to search through\r\n", body.Len(), i)
		}
		raw := []byte(body.String())
		t := store.Target{Mailbox: mb.ID}
		if i%3 == 0 {
			t.Flags = []string{store.FlagSeen}
		}
		if _, err := ts.Store.Deliver(context.Background(), store.Delivery{Body: raw, Parsed: message.Parse(raw).Marshal(), Targets: []store.Target{t}}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCommands logs in to a mailbox of 200 distinct messages and runs
// the commands in turn, one per iteration.
func benchCommands(b *testing.B, cmds ...string) {
	ts := startServer(b, config.IMAP{})
	fillDistinct(b, ts, 200)
	c := ts.login(b, alice())
	c.ok("SELECT INBOX")
	for i := 0; b.Loop(); i++ {
		c.ok("%s", cmds[i%len(cmds)])
	}
}

// BenchmarkFetchHeaderWindow: a client's message list, 20 messages of
// flags, sizes and envelope header fields.
func BenchmarkFetchHeaderWindow(b *testing.B) {
	benchCommands(b, "UID FETCH 100:119 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])")
}

// BenchmarkFetchEnvelopeWindow: 20 ENVELOPEs and BODYSTRUCTUREs.
func BenchmarkFetchEnvelopeWindow(b *testing.B) {
	benchCommands(b, "UID FETCH 100:119 (UID FLAGS ENVELOPE BODYSTRUCTURE)")
}

// BenchmarkFetchBodyOne: one whole message with its BODYSTRUCTURE.
func BenchmarkFetchBodyOne(b *testing.B) {
	benchCommands(b, "UID FETCH 150 (UID BODYSTRUCTURE BODY.PEEK[])")
}

// BenchmarkSearchSubject200: a header search over 200 messages.
func BenchmarkSearchSubject200(b *testing.B) {
	benchCommands(b, `UID SEARCH SUBJECT "number 17"`)
}

// BenchmarkSearchUnseen200: a flag search over 200 messages.
func BenchmarkSearchUnseen200(b *testing.B) {
	benchCommands(b, "UID SEARCH UNSEEN")
}

// BenchmarkSearchBody200: a body text search over 200 messages.
func BenchmarkSearchBody200(b *testing.B) {
	benchCommands(b, `UID SEARCH BODY "line 2000 of message 42,"`)
}
