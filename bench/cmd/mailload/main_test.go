package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"smtp", "-addr", "127.0.0.1:1", "extra"}, {"mem"}, {"imap", "-mix", "bogus=1"}} {
		var out, errb bytes.Buffer
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestTableCommand(t *testing.T) {
	f := filepath.Join(t.TempDir(), "results.txt")
	data := "RESULT scenario=pop3 msgs_per_sec=30 server=mailhouse round=1\nRESULT scenario=pop3 msgs_per_sec=10 server=peer round=1\n"
	if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run([]string{"table", f}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if !strings.Contains(out.String(), "| POP3 full download, msg/s | 30.0 | 10.0 | 3.00× | higher |") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestExpandUsers(t *testing.T) {
	if got := expandUsers("u%d@x.test", 3); strings.Join(got, ",") != "u1@x.test,u2@x.test,u3@x.test" {
		t.Fatal(got)
	}
	if got := expandUsers("a@x, b@x", 9); strings.Join(got, ",") != "a@x,b@x" {
		t.Fatal(got)
	}
}
