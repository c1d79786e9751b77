package imapd_test

import (
	"bufio"
	"compress/flate"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// TestCompressPython: Python's zlib over a TLS socket speaks COMPRESS
// (RFC 4978) with both flush modes real clients use: Z_SYNC_FLUSH, and
// Z_PARTIAL_FLUSH, which compress/flate's reader would not release
// until more data came (see inflate.go). mbsync (TestMbsync) is a third
// real client that compresses.
func TestCompressPython(t *testing.T) {
	py := testutil.NeedTool(t, "python3")
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("squeezed"))
	host, port := hostPort(ts.tlsAddr)
	for _, mode := range []string{"SYNC", "PARTIAL"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, py, "testdata/compress_client.py", host, port, ts.CertFile, alice(), testenv.Password, mode).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "Subject: squeezed") || !strings.HasSuffix(string(out), "DONE\n") {
			t.Errorf("%s flush: %v\n%s", mode, err, out)
		}
	}
}

// TestCompressOnlyUnderTLS: COMPRESS is neither offered nor accepted on
// a plaintext connection, and takes only DEFLATE.
func TestCompressOnlyUnderTLS(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.insecAddr, nil)
	u := c.ok("LOGIN %s %q", alice(), testenv.Password)
	if containsLine(u, "COMPRESS") || containsLine(c.ok("CAPABILITY"), "COMPRESS") {
		t.Errorf("COMPRESS offered in plaintext: %q", u)
	}
	if st := c.status("COMPRESS DEFLATE"); !strings.HasPrefix(st, "NO") {
		t.Errorf("COMPRESS in plaintext: %s", st)
	}
	tc := ts.login(t, alice())
	if st := tc.status("COMPRESS GZIP"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("COMPRESS GZIP: %s", st)
	}
}

// TestCompressGo: a Go client with compress/flate, as go-imap has no
// COMPRESS: commands pipelined right behind COMPRESS are taken as
// compressed (RFC 4978 §3), and a large FETCH comes back intact.
func TestCompressGo(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	big := testMessage("big") + strings.Repeat("All work and no play makes Jack a dull boy.\r\n", 5000)
	ts.deliver(t, alice(), big)
	c := ts.login(t, alice())
	zw, _ := flate.NewWriter(c.conn, flate.BestCompression)
	// COMPRESS and, at once, a compressed SELECT.
	c.write("z COMPRESS DEFLATE\r\n")
	zw.Write([]byte("y SELECT INBOX\r\nx FETCH 1 BODY.PEEK[]\r\n"))
	zw.Flush()
	c.expect("z OK")
	c.r = bufio.NewReader(flate.NewReader(c.r))
	for {
		l := c.line()
		if strings.HasPrefix(l, "x ") {
			if !strings.HasPrefix(l, "x OK") {
				t.Fatal(l)
			}
			break
		}
		if strings.HasPrefix(l, "* 1 FETCH") && strings.Count(l, "a dull boy.\r\n") != 5000 {
			t.Errorf("FETCH body damaged (%d bytes)", len(l))
		}
	}
}

// TestCompressLimit: past MaxCompressed sessions, COMPRESS is refused
// with NO [LIMIT] and the session goes on uncompressed; a place is
// given back when a compressed session ends.
func TestCompressLimit(t *testing.T) {
	ts := startServerWith(t, config.IMAP{}, func(o *imapd.Options) { o.MaxCompressed = 1 })
	first := ts.login(t, alice())
	first.write("z COMPRESS DEFLATE\r\n")
	first.expect("z OK")
	second := ts.login(t, alice())
	if st := second.status("COMPRESS DEFLATE"); !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Errorf("second COMPRESS: %s", st)
	}
	second.ok("NOOP")
	first.conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := second.status("COMPRESS DEFLATE")
		if strings.HasPrefix(st, "OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("COMPRESS after the first session ended: %s", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
