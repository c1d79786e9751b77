package message

import (
	"testing"
	"unicode/utf8"
)

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ASCII", "plain ASCII"},
		{"=?utf-8?q?caf=C3=A9?=", "café"},
		{"=?UTF-8?Q?Hello_World?=", "Hello World"},
		{"=?iso-8859-1?q?J=F6rg?= Schmidt", "Jörg Schmidt"},
		{"=?ISO-8859-2?Q?P=F8=EDli=B9_=BEluou=E8k=FD?=", "Příliš žluoučký"},
		{"=?windows-1251?B?z/Do4uXy?=", "Привет"},
		{"=?koi8-r?B?8NLJ18XU?=", "Привет"},
		{"=?iso-2022-jp?B?GyRCJF4kXyRgJGEkYhsoQg==?=", "まみむめも"},
		{"=?gb2312?B?xOO6ww==?=", "你好"},
		{"=?Shift_JIS?B?g2WDWINn?=", "テスト"},
		{"=?cp932?B?g2WDWINn?=", "テスト"},
		{"=?ks_c_5601-1987?B?vsiz58fPvLy/5A==?=", "안녕하세요"},
		{"=?big5?B?pKSk5Q==?=", "中文"},
		// White space between adjacent encoded-words is dropped (RFC 2047 §6.2),
		// kept between a word and plain text.
		{"=?utf-8?q?a?= =?utf-8?q?b?=", "ab"},
		{"=?utf-8?q?a?=\r\n =?utf-8?q?b?= c", "ab c"},
		{"x =?utf-8?q?a?= y", "x a y"},
		// A character split across two words survives.
		{"=?utf-8?b?w6?= =?utf-8?b?kg==?=", "Ò"}, // C3 + 92
		{"=?utf-8?q?=C3?= =?utf-8?q?=A9t=C3=A9?=", "été"},
		{"=?utf-8?B?5pel5pys?= =?utf-8?B?6Kqe?=", "日本語"},
		// RFC 2231 language in an encoded-word.
		{"=?utf-8*en?q?hello?=", "hello"},
		// Tolerance: words glued to text, spaces in Q text, bad padding.
		{"Re:=?utf-8?q?x?=", "Re:x"},
		{"=?utf-8?q?a b?=", "a b"},
		{"=?utf-8?b?w6k?=", "é"},
		// Unknown charsets are guessed; malformed words stay as they are.
		{"=?x-unknown?q?caf=C3=A9?=", "café"},
		{"=?x-ias-german?q?Gr=FC=DFe?=", "Grüße"},
		{"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
		{"=??q?x?=", "=??q?x?="},
		// Raw 8-bit: UTF-8 kept, Latin-1 converted.
		{"Grüße", "Grüße"},
		{"Gr\xfc\xdfe", "Grüße"},
		{"=?utf-8?q?=FF?=", "\ufffd"},
	}
	for _, tc := range tests {
		got := DecodeHeader(tc.in)
		if got != tc.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("DecodeHeader(%q) is not valid UTF-8", tc.in)
		}
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct {
		in, cs, want string
	}{
		{"caf\xe9", "iso-8859-1", "café"},
		{"caf\xe9", "", "café"},
		{"caf\xc3\xa9", "us-ascii", "café"},
		{"\x80 euro", "windows-1252", "€ euro"},
		{"h\x00i\x00", "utf-16le", "hi"},
		{"\xa4\xa4", "big5", "中"},
		{"caf\xe9", "invalid-charset", "café"},
		{"bad \xff utf-8", "utf-8", "bad \ufffd utf-8"},
		{"\x1b$B$\"\x1b(B", "ISO-2022-JP", "あ"},
	}
	for _, tc := range tests {
		if got := ToUTF8([]byte(tc.in), tc.cs); got != tc.want {
			t.Errorf("ToUTF8(%q, %q) = %q, want %q", tc.in, tc.cs, got, tc.want)
		}
	}
	if !KnownCharset("Shift_JIS") || !KnownCharset("x-unknown") || KnownCharset("invalid-charset") {
		t.Error("KnownCharset")
	}
}
