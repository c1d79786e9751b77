package pgnodes

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/testenv"
)

// cpuTime is the CPU time this process has used so far (the server and
// the benchmark's clients; PostgreSQL's own processes are not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMessage is a 10 KB message.
func benchMessage(from, to string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: benchmark\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <bench@client.example>\r\n\r\n", from, to)
	line := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2)[:76] + "\r\n"
	for b.Len() < 10<<10 {
		b.WriteString(line)
	}
	return b.String()
}

// BenchmarkSMTPThroughput compares the whole application on SQLite and on
// PostgreSQL: 20 concurrent connections to port 25 each send 10 KB
// messages to 10 local accounts, every one committed durably before its
// 250. PostgreSQL runs on the same machine (pgtest, fsync on).
//
//	go test ./internal/store/pgstore/pgnodes/ -run '^$' -bench SMTPThroughput -benchtime 2000x
func BenchmarkSMTPThroughput(b *testing.B) {
	users := make([]string, 10)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
	}
	b.Run("sqlite", func(b *testing.B) {
		benchSMTP(b, testenv.Start(b, "", users...), users)
	})
	b.Run("postgres", func(b *testing.B) {
		pg := pgtest.Start(b)
		extra := fmt.Sprintf("[store]\ndriver = \"postgres\"\ndsn = %q\n", pg.NewDB(b))
		benchSMTP(b, testenv.Start(b, extra, users...), users)
	})
}

func benchSMTP(b *testing.B, s *testenv.Server, users []string) {
	const clients = 20
	conns := make([]*smtp.Client, clients)
	for i := range conns {
		c, err := smtp.Dial(s.Addr(b, "smtp"))
		if err == nil {
			err = c.Hello("client.example")
		}
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		defer c.Close()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	var lat [clients][]time.Duration
	b.SetBytes(10 << 10)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i, c := range conns {
		wg.Go(func() {
			from := "sender@other.test"
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				to := users[(i+int(n))%len(users)] + "@example.test"
				t0 := time.Now()
				if err := c.SendMail(from, []string{to}, strings.NewReader(benchMessage(from, to))); err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	if len(all) > 0 {
		b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
	}
}

// percentile returns the p-th latency (0 < p <= 1) of d, sorting it.
func percentile(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	i := int(float64(len(d))*p+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}
