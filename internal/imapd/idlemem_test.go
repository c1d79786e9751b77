package imapd_test

import (
	"bufio"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/testenv"
)

// idleClients is a Python client holding n implicit-TLS IMAP
// connections, each logged in with INBOX selected and in IDLE. It prints
// "ready" once every connection has had its "+" and holds them until its
// standard input closes, then sends DONE and LOGOUT on each. It runs in
// its own process so that the client side's TLS state is not counted
// with the server's.
const idleClients = `
import socket, ssl, sys
host, port, user, pw, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def expect(f, tag):
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("connection closed")
        if l.startswith(tag):
            if not l.startswith(tag + " OK") and tag != "+":
                raise SystemExit(l)
            return
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection((host, port)))
    f = s.makefile("r", newline="\r\n", encoding="latin-1")
    f.readline()
    s.sendall(('a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\nc IDLE\r\n' % (user, pw)).encode())
    expect(f, "a")
    expect(f, "b")
    expect(f, "+")
    conns.append((s, f))
print("ready", flush=True)
sys.stdin.read()
for s, f in conns:
    s.sendall(b"DONE\r\nd LOGOUT\r\n")
    expect(f, "c")
    s.close()
`

// BenchmarkIdleTLSMemory reports what one idle IMAP connection costs the
// server: 200 implicit-TLS connections (from another process), logged
// in, INBOX selected, in IDLE. heap-B/conn is the growth of the live
// heap after a collection, stack-B/conn that of goroutine stacks,
// goroutines/conn the goroutines each connection keeps.
func BenchmarkIdleTLSMemory(b *testing.B) {
	const n = 200
	if _, err := exec.LookPath("python3"); err != nil {
		b.Fatal("python3 is needed for the idle client")
	}
	ts := startServer(b, config.IMAP{MaxConnsPerAccount: 2 * n})
	host, port, _ := strings.Cut(ts.tlsAddr, ":")
	for b.Loop() {
		before := readIdleMem()
		cmd := exec.Command("python3", "-c", idleClients, host, port, alice(), testenv.Password, strconv.Itoa(n))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			stdin.Close()
			cmd.Wait()
			b.Fatalf("idle client: %q %v: %s", line, err, stderr.String())
		}
		held := readIdleMem()
		b.ReportMetric(float64(held.heap-before.heap)/n, "heap-B/conn")
		b.ReportMetric(float64(held.stack-before.stack)/n, "stack-B/conn")
		b.ReportMetric(float64(held.goroutines-before.goroutines)/n, "goroutines/conn")
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatalf("idle client: %v: %s", err, stderr.String())
		}
		// Let the sessions end before the next round.
		for i := 0; i < 100 && runtime.NumGoroutine() > before.goroutines+5; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

type idleMem struct {
	heap, stack uint64
	goroutines  int
}

// readIdleMem collects twice (so that stacks shrunk by the first
// collection are counted as such) and reads the live heap and the
// goroutine stacks.
func readIdleMem() idleMem {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return idleMem{heap: s[0].Value.Uint64(), stack: s[1].Value.Uint64(), goroutines: runtime.NumGoroutine()}
}
