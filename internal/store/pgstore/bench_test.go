package pgstore

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/sqlstore"
)

// BenchmarkDeliver compares durable 4 KB deliveries to one mailbox on
// PostgreSQL and on SQLite on the same machine, from 20 concurrent
// writers (as the SMTP server's sessions would be). Report msgs/s.
func BenchmarkDeliver(b *testing.B) {
	body := append([]byte("From: a@example.org\r\nSubject: bench\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), 64)...)
	run := func(b *testing.B, s store.Store, mailboxes int) {
		var ids []store.MailboxID
		for i := range mailboxes {
			_, in := mustAccount(b, s, fmt.Sprintf("user%d@example.test", i))
			ids = append(ids, in.ID)
		}
		var next atomic.Int64
		// RunParallel starts parallelism × GOMAXPROCS writers: about 20.
		b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
		var n atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			in := struct{ ID store.MailboxID }{ids[int(next.Add(1))%len(ids)]}
			for pb.Next() {
				if _, err := s.Deliver(b.Context(), store.Delivery{Body: body, Targets: []store.Target{{Mailbox: in.ID}}}); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "msgs/s")
	}
	// One mailbox: every delivery takes the same mailbox row lock. Many:
	// 20 writers spread over 20 mailboxes, as on a real server.
	for _, mailboxes := range []int{1, 20} {
		b.Run(fmt.Sprintf("postgres/mailboxes=%d", mailboxes), func(b *testing.B) {
			srv := pgtest.Start(b)
			s, err := Open(b.Context(), Options{DSN: srv.NewDB(b), MaxConns: 24})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			run(b, s, mailboxes)
		})
		b.Run(fmt.Sprintf("sqlite/mailboxes=%d", mailboxes), func(b *testing.B) {
			s, err := sqlstore.Open(b.Context(), sqlstore.Options{Path: filepath.Join(b.TempDir(), "m.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			run(b, s, mailboxes)
		})
	}
}
