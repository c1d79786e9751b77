package sqlstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/store"
)

// opsBenchStore holds 2,000 messages of 4 KB (about 8 MB).
func opsBenchStore(b *testing.B) *Store {
	b.Helper()
	ctx := b.Context()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "mail.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.AddDomain(ctx, "example.test"); err != nil {
		b.Fatal(err)
	}
	a, err := s.AddAccount(ctx, store.NewAccount{Address: "a@example.test"})
	if err != nil {
		b.Fatal(err)
	}
	mb, _ := s.GetMailbox(ctx, a.ID, "INBOX")
	body := strings.Repeat("y", 4000)
	for i := range 2000 {
		if _, err := s.Deliver(ctx, store.Delivery{Body: fmt.Appendf(nil, "Subject: %d\r\n\r\n%s\r\n", i, body),
			Targets: []store.Target{{Mailbox: mb.ID}}}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkBackup(b *testing.B) {
	s := opsBenchStore(b)
	dir := b.TempDir()
	i := 0
	var size int64
	for b.Loop() {
		i++
		info, err := s.Backup(b.Context(), filepath.Join(dir, fmt.Sprintf("b%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		size = info.Size
	}
	b.SetBytes(size)
}

func BenchmarkCheck(b *testing.B) {
	s := opsBenchStore(b)
	for b.Loop() {
		rep, err := s.Check(b.Context(), store.CheckOptions{})
		if err != nil || !rep.Clean() {
			b.Fatal(err, rep.Problems)
		}
	}
}

func BenchmarkStats(b *testing.B) {
	s := opsBenchStore(b)
	for b.Loop() {
		if _, err := s.Stats(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
