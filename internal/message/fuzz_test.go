package message

import (
	"os"
	"testing"
	"unicode/utf8"

	"mailhouse/internal/testutil"
)

// fuzzSeeds returns hand-made edge cases added to a sample of the corpus.
func fuzzSeeds() []string {
	return []string{
		"",
		"\n",
		"\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\n--a\n--a--",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--a--\n",
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\n--d\n\nSubject: s\n\n--d--",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n",
		"Content-Type: multipart/mixed; boundary=\"  \"\n\n--  \n\nx\n--  --\n",
		"Content-Type: text/plain; name*0*=utf-8''%E2%82; name*1*=%AC; name*99999999999=x\n\n",
		"Content-Type: text/plain; name*=x'y'%\n\n",
		"From: a:b:c;;;<<>>@@,,\"\\\n\n",
		"To: g: a@b, (c) <d@e;f>, \"h;\n\n",
		"Subject: =?utf-8?b??= =?=?=?q??= =?utf-16?b?AAA=?=\n\n",
		"Date: 99 Xyz 99999 99:99:99 +9999\n\n",
		" \n \n\t\n",
		"From x\nFrom y\n\n",
		"Content-Transfer-Encoding: base64\nContent-Type: text/html\n\n<<<<====\n",
		"Content-Type: text/html\n\n<script><style><!--<title>",
		"A: 1\rB: 2\r\rbody",
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	files := testutil.CorpusFiles(f)
	for i, path := range files {
		if i%8 != 0 { // a sample keeps the seed corpus quick to run
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if p := checkMessage(msg); p != "" {
			t.Fatal(p)
		}
		for _, form := range [][]byte{ToCRLF(msg)} {
			if p := checkMessage(form); p != "" {
				t.Fatal("CRLF form: " + p)
			}
		}
		// The header helpers accept any bytes.
		s := Parse(msg)
		h := s.Root.Header(msg)
		all := HeaderFields(h, nil, true)
		if len(all) > len(h) {
			t.Fatal("HeaderFields returned more than the header")
		}
		for _, fl := range Fields(h) {
			if !utf8.ValidString(DecodeHeader(fl.Value)) {
				t.Fatal("DecodeHeader returned invalid UTF-8")
			}
			ParseAddressList(fl.Value)
			ParseDate(fl.Value)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range append(fuzzSeeds(), mixedWithAttachment, nestedRFC822) {
		f.Add(Parse([]byte(s)).Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Unmarshal(b)
		if err != nil {
			return
		}
		// Whatever decodes must survive a second round trip unchanged
		// (the input may use non-minimal varints, so bytes can differ).
		again, err := Unmarshal(s.Marshal())
		if err != nil || !equalStructures(s, again) {
			t.Fatalf("second round trip: %v", err)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{"=?utf-8?q?a?= =?utf-8?q?b?=", "=?iso-2022-jp?B?GyRCJF4bKEI=?=", "x=?", "\xff=?utf-8?b?/w==?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := DecodeHeader(s); !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		l := ParseAddressList(s)
		if len(l) > MaxAddresses {
			t.Fatal("too many addresses")
		}
		if !validAddresses(l) {
			t.Fatalf("invalid address list from %q: %+v", s, l)
		}
	})
}
