package importer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDedupIndex(t *testing.T) {
	d := time.Unix(1600000000, 0)
	x := newDedupIndex(0)
	x.add("<a@x>", d, 100)
	x.add("<a@x>", d, 100) // two identical copies stored
	x.add("", d, 50)
	x.add("<broken>", d, 70)
	for i, c := range []struct {
		id   string
		size int64
		want bool
	}{
		{"<a@x>", 100, true}, {" <a@x> ", 999, true}, {"<a@x>", 100, false}, // the third copy is new
		{"", 50, true}, {"", 50, false},
		{"<read-differently>", 70, true}, // the Message-ID misread: size and date match
		{"<new@x>", 10, false},
	} {
		if got := x.seen(c.id, d, c.size); got != c.want {
			t.Errorf("#%d %q %d: %v", i, c.id, c.size, got)
		}
	}
	if x.seen("<a@x>", d.Add(time.Second), 100) {
		t.Error("another date matched")
	}
}

// TestIMAPTimeout: a source that accepts but never answers ends the
// import after the timeout instead of hanging it.
func TestIMAPTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent
		}
	}()
	start := time.Now()
	_, err = dialIMAP(context.Background(), IMAPSource{Addr: ln.Addr().String(), Timeout: 300 * time.Millisecond, Username: "u", Password: "p"})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("silent server: %v after %v", err, time.Since(start))
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Logf("error: %v", err) // the STARTTLS step reports it in its own words
	}
}

// TestFolderLimits: the Maildir walk stops at maxFolderDepth levels.
func TestFolderLimits(t *testing.T) {
	root := t.TempDir()
	dir := root
	for i := 0; i < maxFolderDepth+5; i++ {
		dir = filepath.Join(dir, "d")
		for _, s := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	fs, err := findMaildirs(root)
	if err != nil {
		t.Fatal(err)
	}
	deepest := 0
	for _, f := range fs {
		deepest = max(deepest, strings.Count(f.name, "/")+1)
	}
	if deepest > maxFolderDepth+1 || len(fs) == 0 {
		t.Errorf("%d folders, %d levels deep", len(fs), deepest)
	}
}
