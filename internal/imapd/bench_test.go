package imapd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// fill adds n messages to a mailbox, 1,000 per transaction (one shared
// body; the store gives each copy its own UID).
func fill(b testing.TB, ts *testServer, mailbox string, n int) {
	b.Helper()
	mb := ts.Mailbox(b, alice(), mailbox)
	body := []byte(strings.ReplaceAll(testMessage("bulk"), "\n", "\n"))
	parsed := message.Parse(body).Marshal()
	for done := 0; done < n; {
		k := min(1000, n-done)
		targets := make([]store.Target, k)
		for i := range targets {
			targets[i] = store.Target{Mailbox: mb.ID}
			if (done+i)%3 == 0 {
				targets[i].Flags = []string{store.FlagSeen}
			}
		}
		if _, err := ts.Store.Deliver(context.Background(), store.Delivery{Body: body, Parsed: parsed, Targets: targets}); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

// BenchmarkSelect100k: SELECT of a mailbox of 100,000 messages.
func BenchmarkSelect100k(b *testing.B) {
	ts := startServer(b, config.IMAP{})
	fill(b, ts, "INBOX", 100_000)
	c := ts.login(b, alice())
	for b.Loop() {
		u := c.ok("SELECT INBOX")
		if !containsLine(u, "* 100000 EXISTS") {
			b.Fatalf("%q", u)
		}
	}
}

// BenchmarkUIDFetchFlags100k: UID FETCH 1:* (FLAGS) on 100,000 messages.
func BenchmarkUIDFetchFlags100k(b *testing.B) {
	ts := startServer(b, config.IMAP{})
	fill(b, ts, "INBOX", 100_000)
	c := ts.login(b, alice())
	c.ok("SELECT INBOX")
	for b.Loop() {
		c.n++
		tag := fmt.Sprintf("t%d", c.n)
		c.write(tag + " UID FETCH 1:* (FLAGS)\r\n")
		n := 0
		for {
			l, err := c.r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					b.Fatal(l)
				}
				break
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("%d responses", n)
		}
	}
}

// BenchmarkFetchEnvelopes1000: FETCH 1:1000 (ENVELOPE), structures read
// from the store (computed at delivery).
func BenchmarkFetchEnvelopes1000(b *testing.B) {
	ts := startServer(b, config.IMAP{})
	fill(b, ts, "INBOX", 1000)
	c := ts.login(b, alice())
	c.ok("SELECT INBOX")
	for b.Loop() {
		c.n++
		tag := fmt.Sprintf("t%d", c.n)
		c.write(tag + " FETCH 1:1000 (ENVELOPE)\r\n")
		for {
			l, err := c.r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(l, tag+" ") {
				break
			}
		}
	}
}

// BenchmarkIdleConnections measures the server's memory per idle
// connection: 1,000 connections logged in with INBOX selected (plaintext,
// so that client-side TLS state is not counted; TLS adds its buffers).
func BenchmarkIdleConnections(b *testing.B) {
	const n = 1000
	ts := startServer(b, config.IMAP{MaxConnsPerAccount: 2 * n})
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := net.Dial("tcp", ts.insecAddr)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "a LOGIN %s %q\r\nb SELECT INBOX\r\n", alice(), testenv.Password)
		}
		// Wait until every session has answered SELECT.
		buf := make([]byte, 4096)
		for _, c := range conns {
			var got strings.Builder
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			for !strings.Contains(got.String(), "b OK") {
				k, err := c.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				got.Write(buf[:k])
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
		b.ReportMetric(float64(used)/n, "B/conn")
		for _, c := range conns {
			c.Close()
		}
	}
}

// countConn counts the bytes the server sends.
type countConn struct {
	net.Conn
	n int64
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkResync100k: a client that knows a 100,000-message INBOX comes
// back after another session changed the flags of 100 messages, and
// resynchronises: with QRESYNC (one SELECT), with CONDSTORE only (UID
// FETCH CHANGEDSINCE, plus UID SEARCH ALL to find expunges), and
// without either (SELECT and UID FETCH 1:* (FLAGS)). resp-B/op is what
// the server sent.
func BenchmarkResync100k(b *testing.B) {
	ts := startServer(b, config.IMAP{})
	fill(b, ts, "INBOX", 100_000)
	c := ts.login(b, alice())
	c.ok("ENABLE QRESYNC")
	u := c.ok("SELECT INBOX")
	var uidv, hms string
	for _, l := range u {
		fmt.Sscanf(l, "* OK [UIDVALIDITY %s", &uidv)
		fmt.Sscanf(l, "* OK [HIGHESTMODSEQ %s", &hms)
	}
	uidv, hms = strings.TrimSuffix(uidv, "]"), strings.TrimSuffix(hms, "]")
	var set []string
	for i := range 100 {
		set = append(set, fmt.Sprint(1+i*997))
	}
	c.ok(`UID STORE %s +FLAGS.SILENT (\Flagged)`, strings.Join(set, ","))
	c.ok("LOGOUT")

	run := func(b *testing.B, setup string, cmds ...string) {
		raw, err := tls.Dial("tcp", ts.tlsAddr, ts.ClientTLS)
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		cc := &countConn{Conn: raw}
		c := &client{t: b, conn: cc, r: bufio.NewReader(cc)}
		c.expect("* OK")
		c.ok("LOGIN %s %q", alice(), testenv.Password)
		if setup != "" {
			c.ok("%s", setup)
		}
		start := cc.n
		for b.Loop() {
			for _, cmd := range cmds {
				c.ok("%s", cmd)
			}
		}
		b.ReportMetric(float64(cc.n-start)/float64(b.N), "resp-B/op")
	}
	b.Run("QRESYNC", func(b *testing.B) {
		run(b, "ENABLE QRESYNC", "SELECT INBOX (QRESYNC ("+uidv+" "+hms+"))")
	})
	b.Run("CONDSTORE", func(b *testing.B) {
		run(b, "", "SELECT INBOX (CONDSTORE)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE "+hms+")", "UID SEARCH ALL")
	})
	b.Run("full", func(b *testing.B) {
		run(b, "", "SELECT INBOX", "UID FETCH 1:* (FLAGS)")
	})
}
