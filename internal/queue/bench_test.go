package queue_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/queue"
	"mailhouse/internal/store/sqlstore"
)

// BenchmarkEnqueue measures durable queueing (commit + fsync) of 4 KB
// messages by 20 concurrent senders, as submission does before its 250.
func BenchmarkEnqueue(b *testing.B) {
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: filepath.Join(b.TempDir(), "q.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q := queue.New(queue.Options{Store: st, Hostname: "mx.a.test"})
	data := []byte("From: alice@a.test\r\nSubject: bench\r\n\r\n" + strings.Repeat("x", 4000) + "\r\n")
	b.SetParallelism(10) // 2 cores x 10 = 20 senders
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Enqueue(context.Background(), "alice@a.test", []string{"bob@b.test"}, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
