package pop3d

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

// commandSeeds cover every command in both states, with good and bad
// arguments.
var commandSeeds = []string{
	"CAPA", "STLS", "USER alice@example.test", "PASS correct horse battery staple", "PASS  two  spaces ",
	"AUTH", "AUTH PLAIN", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnkgc3RhcGxl", "AUTH PLAIN =",
	"AUTH CRAM-MD5", "*", "APOP a b", "QUIT", "STAT", "LIST", "LIST 1", "LIST 0", "LIST 1 2",
	"UIDL", "UIDL 2", "RETR 1", "RETR -1", "RETR 99999999999", "TOP 1 0", "TOP 1 99999999",
	"TOP 1", "DELE 1", "DELE 1", "RSET", "NOOP", "noop", "Retr 1", "", " ", "LIST  1",
	"RETR\t1", "XYZ\x00", "\xff\xfe", strings.Repeat("A", 300), "USER " + strings.Repeat("u", 50),
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := parseCommand(line)
		if err != nil {
			if _, ok := err.(*replyError); !ok {
				t.Fatalf("error %T is not a reply", err)
			}
			return
		}
		if len(cmd.verb) < 3 || len(cmd.verb) > 4 || strings.ToUpper(cmd.verb) != cmd.verb || !isLetters(cmd.verb) {
			t.Fatalf("bad verb %q", cmd.verb)
		}
		limit := maxCommandLine
		if cmd.verb == "PASS" || cmd.verb == "AUTH" {
			limit = maxCredentialLine
		}
		if len(line)+2 > limit {
			t.Fatalf("accepted a %d-octet line for %s", len(line)+2, cmd.verb)
		}
		if bytes.ContainsAny(line, "\r\n\x00") {
			t.Fatalf("accepted a line with a control character: %q", line)
		}
		for _, a := range cmd.args {
			if a == "" || strings.ContainsAny(a, " ") || (len(a) > maxArgLen && cmd.verb != "AUTH") {
				t.Fatalf("bad argument %q", a)
			}
		}
		if n, ok := parseNumber(cmd.rest); ok && (n < 0 || n > maxNumber) {
			t.Fatalf("number %d out of range", n)
		}
	})
}

// viewSeeds are small messages with the shapes that matter: dot lines,
// bare LF, lone CR, no final newline, empty.
var viewSeeds = []string{
	"", ".", "\n", "\r\n", "\r", ".\r\n", "..\n", "a\r\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n",
	"Subject: x\n\n.dot\nlast", "h: v\r\n\r\n\r\n.\r\n..\r\n", "no header blank line\r\nstill header",
	"a\rb\nc\r\nd", "\x00\n.\x00",
}

func FuzzPOP3View(f *testing.F) {
	for _, s := range viewSeeds {
		f.Add([]byte(s), 2)
	}
	// A few small real messages.
	for _, p := range testutil.CorpusFiles(f) {
		if fi, err := os.Stat(p); err == nil && fi.Size() < 2048 {
			b, _ := os.ReadFile(p)
			f.Add(b, 0)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, topLines int) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := writeMessage(w, data); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got := unstuff(t, out.Bytes())
		if int64(len(got)) != popSize(data) {
			t.Fatalf("popSize %d, RETR sends %d octets", popSize(data), len(got))
		}
		if want := PopView(data); !bytes.Equal(got, want) {
			t.Fatalf("view %q, want %q", got, want)
		}
		out.Reset()
		if err := writeTop(w, data, topLines); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		top := unstuff(t, out.Bytes())
		if !bytes.HasPrefix(got, top) {
			t.Fatalf("TOP %d output %q is not a prefix of %q", topLines, top, got)
		}
	})
}

// unstuff checks a multi-line response's framing (CRLF lines, final
// ".") and undoes the dot-stuffing, as a client does.
func unstuff(t *testing.T, b []byte) []byte {
	t.Helper()
	if !bytes.HasSuffix(b, []byte(".\r\n")) {
		t.Fatalf("no terminator: %q", b)
	}
	var out []byte
	lines := bytes.SplitAfter(b, []byte("\r\n"))
	for i, l := range lines {
		if len(l) == 0 {
			continue
		}
		if !bytes.HasSuffix(l, []byte("\r\n")) || bytes.Contains(l[:len(l)-2], []byte("\n")) {
			t.Fatalf("line %q is not CRLF-terminated", l)
		}
		if bytes.Equal(l, []byte(".\r\n")) {
			if i != len(lines)-2 { // the last element of SplitAfter is empty
				t.Fatalf("terminator before the end in %q", b)
			}
			break
		}
		out = append(out, bytes.TrimPrefix(l, []byte("."))...)
	}
	return out
}

func TestSizeCacheBounded(t *testing.T) {
	c := newSizeCache(3)
	for i := range 4 {
		c.put(sizeKey{mailbox: 1, uid: store.UID(i)}, int64(i))
	}
	if len(c.m) > 3 {
		t.Errorf("cache holds %d entries, limit 3", len(c.m))
	}
	if n, ok := c.get(sizeKey{mailbox: 1, uid: 3}); !ok || n != 3 {
		t.Errorf("latest entry lost: %d %v", n, ok)
	}
}

// BenchmarkWriteMessage measures the CRLF and dot-stuffing writer alone.
func BenchmarkWriteMessage(b *testing.B) {
	var bodies [][]byte
	var size int64
	for _, f := range testutil.CorpusFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, data)
		size += int64(len(data))
	}
	w := bufio.NewWriter(io.Discard)
	b.SetBytes(size / int64(len(bodies)))
	b.ResetTimer()
	for i := range b.N {
		if err := writeMessage(w, bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
	}
}
