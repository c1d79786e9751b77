package testutil

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// FloodOptions describe a connection flood from one address.
type FloodOptions struct {
	Addr  string // the listener to flood
	Count int    // connections to open (at most 50 dialling at once)
	// Wait is how long each connection waits for the server's first
	// line before Held decides.
	Wait time.Duration
	// Held says whether a connection holds a session, from the first
	// line read (and the read's error, e.g. a time-out when the server
	// waits for a TLS handshake).
	Held func(line string, err error) bool
}

// Flood opens o.Count connections that never speak and sorts them into
// held and refused; a failed dial counts as refused. The connections
// stay open until the test ends. It fails the test if the flood takes
// over a minute.
func Flood(t *testing.T, o FloodOptions) (held, refused int) {
	t.Helper()
	var nHeld, nRefused atomic.Int64
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	start := time.Now()
	for range o.Count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", o.Addr, 5*time.Second)
			if err != nil {
				nRefused.Add(1)
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			_ = c.SetReadDeadline(time.Now().Add(o.Wait))
			line, err := bufio.NewReader(c).ReadString('\n')
			if o.Held(line, err) {
				nHeld.Add(1)
			} else {
				nRefused.Add(1)
			}
		}()
		if time.Since(start) > time.Minute {
			t.Fatal("flood took too long")
		}
	}
	wg.Wait()
	t.Logf("%d connections in %v: %d held, %d refused", o.Count, time.Since(start).Round(time.Millisecond), nHeld.Load(), nRefused.Load())
	return int(nHeld.Load()), int(nRefused.Load())
}

// SlowLoris sends one byte of text every interval until the server
// closes the connection, and returns how long the connection lived and
// what the server said. It fails the test if the connection is still
// open after limit.
func SlowLoris(t *testing.T, c net.Conn, text string, interval, limit time.Duration) (time.Duration, string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 4096)
		var all strings.Builder
		for {
			_ = c.SetReadDeadline(time.Now().Add(limit))
			n, err := c.Read(b)
			all.Write(b[:n])
			if err != nil {
				got <- all.String()
				return
			}
		}
	}()
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case s := <-got:
			return time.Since(start), s
		case <-time.After(interval):
		}
		if time.Since(start) > limit {
			t.Fatalf("slow client still connected after %v", limit)
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte{text[i%len(text)]})
	}
}
