package sqlstore

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// BenchmarkDeliver: 20 goroutines each deliver 4 KB messages to their own
// recipient, as concurrent SMTP sessions would; every Deliver is durable
// (WAL, synchronous=FULL) when it returns. Reports throughput and the
// latency percentiles one delivery waits for its group's commit.
//
//	go test -run '^$' -bench BenchmarkDeliver -benchtime 20000x ./internal/store/sqlstore
func BenchmarkDeliver(b *testing.B) {
	const workers = 20
	s, err := Open(b.Context(), Options{Path: filepath.Join(b.TempDir(), "mail.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		b.Fatal(err)
	}
	inboxes := make([]store.MailboxID, workers)
	for i := range inboxes {
		a, err := s.AddAccount(ctx, store.NewAccount{Address: fmt.Sprintf("user%d@example.org", i)})
		if err != nil {
			b.Fatal(err)
		}
		m, err := s.GetMailbox(ctx, a.ID, "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		inboxes[i] = m.ID
	}
	body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"), 4096/64)
	lat := make([][]time.Duration, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for g := range workers {
		wg.Go(func() {
			prefix := fmt.Appendf(nil, "Delivered-To: user%d@example.org\r\n", g)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				_, err := s.Deliver(ctx, store.Delivery{Body: body, Targets: []store.Target{{Mailbox: inboxes[g], Prefix: prefix}}})
				if err != nil {
					b.Error(err)
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p int) float64 { return float64(all[(len(all)-1)*p/100]) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(99), "p99-ms")
}
