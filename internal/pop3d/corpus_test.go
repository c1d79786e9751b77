package pop3d_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"mailhouse/internal/pop3d"
	"mailhouse/internal/testutil"
)

// TestCorpus stores every corpus message as given (LF-only, mixed, no
// final newline, NUL bytes, 570 kB of HTML ...) and downloads each:
// LIST's size, RETR's octet count and the bytes received all agree, and
// the bytes are the message with CRLF endings.
func TestCorpus(t *testing.T) {
	files := testutil.CorpusFiles(t)
	e := newEnv(t)
	var want [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e.appendRaw(alice, b)
		want = append(want, pop3d.PopView(b))
	}
	c := e.login(alice)
	c.cmd("LIST", "+OK")
	list := c.lines()
	if len(list) != len(files) {
		t.Fatalf("LIST has %d lines for %d messages", len(list), len(files))
	}
	total := 0
	for i, w := range want {
		n := strconv.Itoa(i + 1)
		if list[i] != n+" "+strconv.Itoa(len(w)) {
			t.Errorf("%s: LIST line %q, want size %d", files[i], list[i], len(w))
		}
		got := c.retr(i + 1)
		if !bytes.Equal(got, w) {
			t.Errorf("%s: RETR differs from the stored message with CRLF endings", files[i])
		}
		c.cmd("TOP "+n+" 0", "+OK")
		if top := c.multi(); !bytes.HasPrefix(w, top) {
			t.Errorf("%s: TOP 0 is not a prefix of the message", files[i])
		}
		total += len(w)
	}
	c.cmd("STAT", "+OK "+strconv.Itoa(len(files))+" "+strconv.Itoa(total))
	c.cmd("QUIT", "+OK")
}
