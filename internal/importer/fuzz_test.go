package importer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzMboxReader(f *testing.F) {
	f.Add([]byte(sampleMbox))
	f.Add([]byte("From a Mon Jan  1 00:00:00 2000\n\nFrom b Mon Jan  1 00:00:00 2000\n"))
	f.Add([]byte("From \n>From \r\n\r\nFrom x 1:1 1999\n"))
	f.Add([]byte("\n\n\nFrom x Sat Jan  1 00:00:00 2000\r\nSubject: x\r\n\r\n>>>From y\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 12
		r := newMboxReader(bytes.NewReader(data), max)
		var total int64
		for n := 0; ; n++ {
			m, err := r.Next()
			if errors.Is(err, io.EOF) || errors.Is(err, errNotMbox) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n > len(data) {
				t.Fatal("more messages than bytes")
			}
			if len(m.data) > max {
				t.Fatalf("message of %d bytes over the limit", len(m.data))
			}
			total += m.size
			out, flags, _ := mboxFlags(m.data)
			if len(out) > len(m.data) {
				t.Fatal("removing state headers made the message longer")
			}
			for _, fl := range flags {
				if !isAtom(fl) && !strings.HasPrefix(fl, `\`) {
					t.Fatalf("flag %q", fl)
				}
			}
			_ = mboxDate(m.fromLine)
		}
		if total > int64(len(data))+1 {
			t.Fatalf("messages add up to %d bytes of %d", total, len(data))
		}
	})
}

func FuzzMaildirNames(f *testing.F) {
	for _, s := range []string{".Sent", ".Archive.2024", ".&AMk-t&AOk-", ".a&AC4-b", ".&-", "1551000001.M1P1.host:2,FSab", "x!2,RS"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name, ok := maildirPlusName(s); ok {
			if !utf8.ValidString(name) && utf8.ValidString(s) {
				t.Fatalf("%q gave invalid UTF-8 %q", s, name)
			}
			for _, l := range strings.Split(name, "/") {
				if l == "" {
					t.Fatalf("%q gave an empty level: %q", s, name)
				}
			}
			if utf8.ValidString(name) {
				if back, ok := maildirPlusName(maildirPlusDir(name)); !ok || back != name {
					t.Fatalf("%q: %q → %q → %q", s, name, maildirPlusDir(name), back)
				}
			}
		}
		u, letters := maildirInfo(s)
		if len(u)+len(letters) > len(s) {
			t.Fatal("maildirInfo grew the name")
		}
		kw := parseKeywords([]byte(s))
		flags := maildirFlags(letters, kw)
		l2, kw2 := maildirLetters(flags, nil)
		if back := maildirFlags(l2, kw2); strings.Join(back, " ") != strings.Join(flags, " ") {
			t.Fatalf("flags %v → %q → %v", flags, l2, back)
		}
		_ = parseSubscriptions([]byte(s), ".", true)
		_ = parseUIDList([]byte(s))
	})
}
