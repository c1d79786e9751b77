package load

// Micro-benchmarks of the hot paths the comparison exercises, through the
// real server on loopback (TLS for IMAP, as in compare.sh): run with
//
//	go test ./bench/load -run '^$' -bench . -benchtime 2s [-cpuprofile cpu.out]
//
// and read the profile with `go tool pprof -top cpu.out`: client and
// server share the process, so the server's own packages
// (mailhouse/internal/...) are the ones to read. The packages' own
// benchmarks (internal/store/sqlstore, internal/imapd, internal/message)
// measure the same paths without the network.

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/testenv"
)

// BenchmarkDeliver: the store's delivery transaction (one 4 KB body,
// fsynced) with 20 concurrent deliveries sharing group commits.
func BenchmarkDeliver(b *testing.B) {
	st := testenv.NewStack(b, "alice")
	ctx := context.Background()
	res, err := st.Deliverer.Resolve(ctx, "alice@"+testenv.Domain)
	if err != nil {
		b.Fatal(err)
	}
	msg := Message("loadgen@loadgen.test", "alice@"+testenv.Domain, 4096, 1, 1)
	b.SetBytes(int64(len(msg)))
	b.SetParallelism(10) // 2 cores × 10 = 20 concurrent deliveries
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.Deliverer.Deliver(ctx, delivery.Envelope{From: "loadgen@loadgen.test",
				Recipients: []directory.Resolution{res}, Data: msg}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMessageParse: the structure computed once per delivery.
func BenchmarkMessageParse(b *testing.B) {
	msg := Message("loadgen@loadgen.test", "alice@example.test", 4096, 1, 1)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		_ = message.Parse(msg).Marshal()
	}
}

// BenchmarkSMTP: whole SMTP transactions (pipelined MAIL, RCPT, DATA,
// 4 KB) on 20 connections: parsing, SPF against a loopback DNS,
// delivery, fsync.
func BenchmarkSMTP(b *testing.B) {
	srv, _ := startServer(b, "alice")
	// The sender domain's SPF and DMARC records, as benchdns serves them
	// to the server in compare.sh (without them every lookup is an
	// NXDOMAIN that no cache may keep, which is not what an MX sees).
	srv.DNS.Add(b, SenderRecords...)
	ctx := context.Background()
	b.ResetTimer()
	r, err := RunSMTP(ctx, SMTPOptions{Target: Target{Addr: srv.Addr(b, "smtp"), TLS: TLSNone},
		Messages: max(b.N, 20), Size: 4096, Conns: 20, From: "loadgen@loadgen.test", To: addrs("alice")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.Txn.P99.Seconds()*1000, "p99-ms")
}

// imapBench logs one client in to a mailbox of 200 messages and runs cmd
// b.N times.
func imapBench(b *testing.B, cmds ...string) {
	_, imaps := startServer(b, "alice")
	ctx := context.Background()
	user := "alice@" + testenv.Domain
	if _, err := Populate(ctx, PopulateOptions{Target: imaps, Users: []string{user}, Pass: testenv.Password, Messages: 200}); err != nil {
		b.Fatal(err)
	}
	c, err := dialIMAP(imaps)
	if err != nil {
		b.Fatal(err)
	}
	defer c.logout()
	if err := c.login(user, testenv.Password); err != nil {
		b.Fatal(err)
	}
	if _, err := c.cmd("SELECT INBOX"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := c.cmd("%s", cmds[i%len(cmds)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIMAPFetchHeaders: a 20-message window of envelope headers.
func BenchmarkIMAPFetchHeaders(b *testing.B) {
	imapBench(b, "UID FETCH 100:119 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])")
}

// BenchmarkIMAPFetchBody: one whole 4 KB message with its BODYSTRUCTURE.
func BenchmarkIMAPFetchBody(b *testing.B) {
	imapBench(b, "UID FETCH 150 (UID BODYSTRUCTURE BODY.PEEK[])")
}

// BenchmarkIMAPSearch: a flag search and a header text search over 200
// messages.
func BenchmarkIMAPSearch(b *testing.B) {
	imapBench(b, "UID SEARCH UNSEEN", `UID SEARCH SUBJECT "message 200001.7"`)
}

// BenchmarkIMAPStore: flag changes (a write and a change-feed event each).
func BenchmarkIMAPStore(b *testing.B) {
	imapBench(b, `UID STORE 42 +FLAGS (\Flagged)`, `UID STORE 42 -FLAGS (\Flagged)`)
}

// BenchmarkIMAPMix: the comparison's IMAP mix, 20 sessions on 4
// accounts of 200 messages, 5 s per iteration (use -benchtime 1x): for
// profiling the whole mix with -cpuprofile.
func BenchmarkIMAPMix(b *testing.B) {
	imapMix(b, "u1", "u2", "u3", "u4")
}

// BenchmarkIMAPMix20: the same mix on 20 accounts, one session each, as
// compare.sh runs it: 4,000 messages, more than the server's structure
// cache holds.
func BenchmarkIMAPMix20(b *testing.B) {
	var names []string
	for i := 1; i <= 20; i++ {
		names = append(names, fmt.Sprintf("u%d", i))
	}
	imapMix(b, names...)
}

func imapMix(b *testing.B, names ...string) {
	_, imaps := startServer(b, names...)
	ctx := context.Background()
	users := addrs(names...)
	if _, err := Populate(ctx, PopulateOptions{Target: imaps, Users: users, Pass: testenv.Password, Messages: 200}); err != nil {
		b.Fatal(err)
	}
	// Warm up with one session: every statement gets prepared once.
	if _, err := RunIMAP(ctx, IMAPOptions{Target: imaps, Users: users[:1], Pass: testenv.Password, Conns: 1, Duration: time.Second}); err != nil {
		b.Fatal(err)
	}
	// MIX_CPUPROFILE=file profiles the measured runs only, without the
	// population and logins before them (use it instead of -cpuprofile).
	if path := os.Getenv("MIX_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	for range b.N {
		cpu0 := cpuTime(b)
		r, err := RunIMAP(ctx, IMAPOptions{Target: imaps, Users: users, Pass: testenv.Password, Conns: 20, Duration: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		// CPU per operation (server and load generator together) varies
		// far less with the machine's other load than ops/s does.
		b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(max(r.Total.Count, 1)), "cpu-us/op")
		b.ReportMetric(r.Total.PerSec, "ops/s")
		b.ReportMetric(r.Total.P99.Seconds()*1000, "p99-ms")
		for _, op := range r.Ops {
			b.ReportMetric(op.P50.Seconds()*1000, op.Name+"-p50-ms")
			b.ReportMetric(op.P99.Seconds()*1000, op.Name+"-p99-ms")
		}
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
