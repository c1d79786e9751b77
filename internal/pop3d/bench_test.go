package pop3d_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/testutil"
)

const benchMessages = 10_000

// BenchmarkRETR measures download throughput from a 10,000-message
// maildrop delivered through the real Deliverer (the corpus messages in
// turn, with CRLF endings: 3.1 MB over 385 messages of every shape).
//
//	go test ./internal/pop3d/ -run '^$' -bench RETR -benchtime 5000x
func BenchmarkRETR(b *testing.B) {
	e := newEnv(b)
	var bodies [][]byte
	for _, f := range testutil.CorpusFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, pop3d.PopView(data))
	}
	start := time.Now()
	if err := fillMaildrop(e, bodies, benchMessages); err != nil {
		b.Fatal(err)
	}
	b.Logf("delivered %d messages in %v", benchMessages, time.Since(start).Round(time.Millisecond))

	// Each op is one RETR on an open session, message numbers in turn.
	b.Run("RETR", func(b *testing.B) {
		c := e.login(alice)
		defer c.cmd("QUIT", "+OK")
		var total int64
		b.ResetTimer()
		for i := range b.N {
			n, err := retrRaw(c, i%benchMessages+1)
			if err != nil {
				b.Fatal(err)
			}
			total += int64(n)
		}
		b.StopTimer()
		reportThroughput(b, total, b.N)
	})

	// Each op is a whole session downloading all 10,000 messages with
	// pipelined RETRs, as fetchmail or a phone does after a holiday.
	b.Run("session-10k", func(b *testing.B) {
		var total int64
		b.ResetTimer()
		for range b.N {
			c := e.login(alice)
			c.cmd("STAT", "+OK "+strconv.Itoa(benchMessages)+" ")
			errc := make(chan error, 1)
			go func() {
				w := bufio.NewWriter(c.conn)
				for i := 1; i <= benchMessages; i++ {
					fmt.Fprintf(w, "RETR %d\r\n", i)
				}
				w.WriteString("QUIT\r\n")
				errc <- w.Flush()
			}()
			for i := 1; i <= benchMessages; i++ {
				n, err := readRetr(c.r)
				if err != nil {
					b.Fatal(err)
				}
				total += int64(n)
			}
			c.expect("+OK")
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			c.conn.Close()
		}
		b.StopTimer()
		reportThroughput(b, total, b.N*benchMessages)
	})
}

func reportThroughput(b *testing.B, bytes int64, msgs int) {
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(bytes)/sec/1e6, "MB/s")
	b.ReportMetric(float64(msgs)/sec, "msgs/s")
}

// fillMaildrop delivers n messages to alice with 8 concurrent
// deliveries (the store's group commit shares their fsyncs).
func fillMaildrop(e *env, bodies [][]byte, n int) error {
	ctx := context.Background()
	res, err := e.stack.Deliverer.Resolve(ctx, alice)
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := e.stack.Deliverer.Deliver(ctx, delivery.Envelope{
					From: "bench@example.org", Recipients: []directory.Resolution{res}, Data: bodies[i%len(bodies)],
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var ferr error
	for i := 0; i < n && ferr == nil; i++ {
		select {
		case work <- i:
		case ferr = <-errs:
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	return errors.Join(ferr, <-errs)
}

// retrRaw sends RETR and reads the reply; it returns the octets sent.
func retrRaw(c *client, n int) (int, error) {
	if _, err := fmt.Fprintf(c.conn, "RETR %d\r\n", n); err != nil {
		return 0, err
	}
	return readRetr(c.r)
}

// readRetr reads one RETR reply, counting the octets up to the
// terminator.
func readRetr(r *bufio.Reader) (int, error) {
	l, err := r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(l, []byte("+OK ")) {
		return 0, fmt.Errorf("RETR: %q", l)
	}
	n := 0
	for {
		l, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n += len(l)
			continue
		}
		if err != nil {
			return n, err
		}
		if len(l) == 3 && l[0] == '.' {
			return n, nil
		}
		n += len(l)
	}
}
