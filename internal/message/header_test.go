package message

import (
	"testing"
)

const sampleHeader = "From: sub@domain.org\r\n" +
	"Date: Sun, 12 Aug 2012 12:34:56 +0300\r\n" +
	"subject: folded\r\n continued\r\n" +
	"X-Foo: 1\r\n" +
	"X-Foo: 2\r\n" +
	"Received: a\r\n\tb\r\n" +
	"\r\n"

func TestHeaderFields(t *testing.T) {
	h := []byte(sampleHeader)
	tests := []struct {
		names   []string
		exclude bool
		want    string
	}{
		// RFC 9051 §6.4.5: matching is case-insensitive, continuation lines
		// are kept, order is the message's, the blank line is included.
		{[]string{"FROM", "Subject", "x-nothing"}, false, "From: sub@domain.org\r\nsubject: folded\r\n continued\r\n\r\n"},
		{[]string{"x-foo"}, false, "X-Foo: 1\r\nX-Foo: 2\r\n\r\n"},
		{[]string{"from", "subject", "x-foo"}, true, "Date: Sun, 12 Aug 2012 12:34:56 +0300\r\nReceived: a\r\n\tb\r\n\r\n"},
		{[]string{"nothing"}, false, "\r\n"},
		{nil, true, sampleHeader},
	}
	for _, tc := range tests {
		if got := string(HeaderFields(h, tc.names, tc.exclude)); got != tc.want {
			t.Errorf("HeaderFields(%q, exclude=%v) = %q, want %q", tc.names, tc.exclude, got, tc.want)
		}
	}
	// A header without a blank line (message without body) gets none.
	if got := string(HeaderFields([]byte("A: 1\r\nB: 2"), []string{"a"}, false)); got != "A: 1\r\n" {
		t.Errorf("no blank line: %q", got)
	}
	if got := string(HeaderFields([]byte("A: 1\nB: 2\n\n"), []string{"b"}, false)); got != "B: 2\n\n" {
		t.Errorf("LF header: %q", got)
	}
}

func TestFieldsAndGet(t *testing.T) {
	fs := Fields([]byte(sampleHeader))
	if len(fs) != 6 {
		t.Fatalf("%d fields, want 6", len(fs))
	}
	if fs[2].Name != "subject" || fs[2].Value != "folded continued" || string(fs[2].Raw) != "subject: folded\r\n continued\r\n" {
		t.Errorf("field 3 = %+v", fs[2])
	}
	if v, ok := Get([]byte(sampleHeader), "RECEIVED"); !ok || v != "a\tb" {
		t.Errorf("Get(Received) = %q, %v", v, ok)
	}
	if v, ok := Get([]byte(sampleHeader), "x-foo"); !ok || v != "1" {
		t.Errorf("Get returns the first field: %q", v)
	}
	if _, ok := Get([]byte(sampleHeader), "missing"); ok {
		t.Error("Get(missing) found something")
	}
	// Obsolete syntax: blanks before the colon, empty continuation lines.
	if v, _ := Get([]byte("Subject   : a\r\n \r\n b\r\n\r\n"), "subject"); v != "a  b" {
		t.Errorf("obsolete syntax: %q", v)
	}
}

func TestScanHeader(t *testing.T) {
	tests := []struct {
		name, msg string
		body      int // offset of the body
	}{
		{"blank line", "A: 1\r\n\r\nbody", 8},
		{"LF", "A: 1\n\nbody", 6},
		{"no blank line, junk body", "A: 1\r\nthis is body\r\n", 6},
		{"no header", "body line\r\nA: 1\r\n\r\n", 0},
		{"From_ line and prose", "From a@b Mon\nprose\n", 0},
		{"empty message", "", 0},
		{"only blank line", "\r\n", 2},
		{"header to the end", "A: 1\r\nB: 2", 10},
		{"junk inside, field after", "A: 1\r\njunk\r\nB: 2\r\n\r\nx", 20},
		{"junk before the body", "A: 1\r\njunk\r\n\r\nx", 6},
		{"mbox From_ line", "From a@b Mon Jan  1 00:00:00 2001\nA: 1\n\nx", 40},
		{"indented first field", " A: 1\n\nx", 7},
		{"blanks-only first line", "   \nA: 1\n\nx", 10},
		{"indented first line, no field", " text\nmore\n", 0},
		{"continuation of blanks", "A: 1\r\n \r\n\r\nx", 11},
	}
	for _, tc := range tests {
		if got := scanHeader([]byte(tc.msg), 0, len(tc.msg)); got != tc.body {
			t.Errorf("%s: body at %d, want %d", tc.name, got, tc.body)
		}
	}
	if v, _ := Get([]byte("From a@b Mon Jan  1 00:00:00 2001\nA: 1\n\n"), "a"); v != "1" {
		t.Error("field after an mbox From_ line not found")
	}
	if v, _ := Get([]byte(" A: 1\n\n"), "a"); v != "1" {
		t.Error("indented first field not found")
	}
	if v, _ := Get([]byte("A: x;\nname=y\nB: 2\n\n"), "a"); v != "x; name=y" {
		t.Errorf("unindented continuation: %q", v)
	}
}

func TestToCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"a\r\r\nb\n\r", "a\r\n\r\nb\r\n\r\n"},
		{"no newline", "no newline"},
	}
	for _, tc := range tests {
		if got := string(ToCRLF([]byte(tc.in))); got != tc.want {
			t.Errorf("ToCRLF(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	in := []byte("a\r\nb\r\n")
	if out := ToCRLF(in); &out[0] != &in[0] {
		t.Error("canonical input was copied")
	}
}
