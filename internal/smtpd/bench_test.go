package smtpd_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMessage is a 10 KB message.
func benchMessage(from, to string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: benchmark\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <bench@client.example>\r\n\r\n", from, to)
	line := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2)[:76] + "\r\n"
	for b.Len() < 10<<10 {
		b.WriteString(line)
	}
	return []byte(b.String())
}

// BenchmarkSubmitParallel measures messages accepted end to end: 20
// concurrent client connections each send 10 KB messages, every one
// committed and fsynced in the recipients' INBOX before its 250.
func BenchmarkSubmitParallel(b *testing.B) {
	const clients = 20
	users := make([]string, 10)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
	}
	ts := startServer(b, nil, users...)
	for _, mode := range []string{"mx", "submission-starttls"} {
		b.Run(mode, func(b *testing.B) {
			conns := make([]*smtp.Client, clients)
			for i := range conns {
				var c *smtp.Client
				var err error
				if mode == "mx" {
					c, err = smtp.Dial(ts.mx)
					if err == nil {
						err = c.Hello("client.example")
					}
				} else {
					c, err = smtp.DialStartTLS(ts.sub, ts.ClientTLS)
					if err == nil {
						err = c.Auth(sasl.NewPlainClient("", "user0@example.test", pw))
					}
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
			b.SetBytes(10 << 10)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					from := "sender@other.test"
					if mode != "mx" {
						from = "user0@example.test"
					}
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						to := users[(i+int(n))%len(users)] + "@example.test"
						if err := c.SendMail(from, []string{to}, strings.NewReader(string(benchMessage(from, to)))); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			// CPU per message (server and benchmark client together): a
			// figure that other load on the machine disturbs less.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}
