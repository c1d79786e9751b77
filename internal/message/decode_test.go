package message

import (
	"errors"
	"testing"
)

func TestTransferDecode(t *testing.T) {
	tests := []struct {
		enc, in, want string
	}{
		{"7bit", "as is\r\n", "as is\r\n"},
		{"", "as is", "as is"},
		{"BINARY", "\x00\xff", "\x00\xff"},
		{"base64", "aGVsbG8g\r\nd29ybGQ=\r\n", "hello world"},
		{"Base64", "  aGVs    \r\n bG8g  \r\n   d29y  \t \r\n    bGQ= \r\n", "hello world"},
		{"base64", "aGVsbG8=aGVsbG8=", "hellohello"}, // concatenated blocks
		{"base64", "aGVsbG8!!", "hello"},             // junk skipped
		{"base64", "aGVsbG8gd29ybGQhA", "hello world!"},
		{"base-64", "aGk=", "hi"},
		{"quoted-printable", "caf=C3=A9 =\r\nsoft\r\n", "café soft\r\n"},
		{"quoted-printable", "trailing   \r\nx", "trailing\r\nx"},
		{"quoted-printable", "a=\nb\n", "ab\n"},
		{"quoted-printable", "lower =c3=a9", "lower é"},
		{"quoted-printable", "bad =ZZ and = alone", "bad =ZZ and = alone"},
		{"quoted-printable", "soft with blanks= \t\r\nnext", "soft with blanksnext"},
		{"quoted-printable", "end=", "end"},
	}
	for _, tc := range tests {
		got, err := transferDecode([]byte(tc.in), tc.enc)
		if err != nil || string(got) != tc.want {
			t.Errorf("decode %s %q = %q, %v; want %q", tc.enc, tc.in, got, err, tc.want)
		}
	}
	for _, enc := range []string{"x-uuencode", "BASE9000", "quoted"} {
		if _, err := transferDecode([]byte("x"), enc); !errors.Is(err, ErrUnknownEncoding) {
			t.Errorf("encoding %q: err = %v, want ErrUnknownEncoding", enc, err)
		}
	}
}

func TestDecodedUnknownEncoding(t *testing.T) {
	msg := crlf("Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n")
	s := Parse(msg)
	if _, err := s.Root.Decoded(msg); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("Decoded: %v, want ErrUnknownEncoding", err)
	}
	if _, err := s.Root.DecodedText(msg); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("DecodedText: %v, want ErrUnknownEncoding", err)
	}
	// Text (search, previews) still reads the raw text.
	if got := Text(msg, s, 100); got != "begin 644 a" {
		t.Errorf("Text = %q", got)
	}
}
