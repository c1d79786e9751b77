package message

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// canonicalCharset lower-cases and trims a charset label and maps the
// aliases seen in mail that the charset package does not know.
func canonicalCharset(cs string) string {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	switch cs {
	case "utf8", "x-utf8", "utf-8'":
		return "utf-8"
	case "ascii", "us_ascii", "7bit", "ansi_x3.4-1968", "iso646-us":
		return "us-ascii"
	case "cp932", "ms932", "windows-31j", "x-sjis", "sjis", "ms_kanji", "x-ms-cp932":
		return "shift_jis"
	case "cp949", "ks_c_5601", "ksc5601", "x-windows-949", "windows-949", "uhc":
		return "euc-kr"
	case "cp936", "ms936", "windows-936":
		return "gbk"
	case "cp950", "ms950", "x-x-big5", "big5-hkscs":
		return "big5"
	}
	return cs
}

// undeclared reports whether a charset label says nothing useful about the
// bytes, so that they are guessed (UTF-8 if valid, else Windows-1252).
func undeclared(cs string) bool {
	switch cs {
	case "", "us-ascii", "unknown-8bit", "x-unknown", "unknown", "none", "default", "8bit", "binary", "x-user-defined":
		return true
	}
	return false
}

// asciiCompatible reports whether pure ASCII input decodes to itself in cs,
// so that the conversion can be skipped.
func asciiCompatible(cs string) bool {
	return !strings.HasPrefix(cs, "utf-16") && !strings.HasPrefix(cs, "utf-32") &&
		!strings.HasPrefix(cs, "utf-7") && !strings.HasPrefix(cs, "iso-2022") &&
		!strings.HasPrefix(cs, "hz") && !strings.HasPrefix(cs, "csiso2022")
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// guessUTF8 converts text of unknown charset: UTF-8 when it is valid UTF-8
// or mostly so (invalid bytes become U+FFFD), else Windows-1252 (the usual
// charset of undeclared 8-bit mail, and a superset of ISO-8859-1's
// printable range).
func guessUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if mostlyUTF8(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// ToUTF8 converts b from the charset cs (a MIME or IANA name, any case) to
// valid UTF-8, best effort: an absent or unknown charset is guessed as
// UTF-8 or else Windows-1252, and undecodable bytes become U+FFFD. It uses
// go-message's charset tables.
func ToUTF8(b []byte, cs string) string {
	cs = canonicalCharset(cs)
	if undeclared(cs) {
		return guessUTF8(b)
	}
	if cs == "utf-8" {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if isASCII(b) && asciiCompatible(cs) {
		return string(b)
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return guessUTF8(b)
	}
	out, err := io.ReadAll(r)
	if err != nil && len(out) == 0 {
		return guessUTF8(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// KnownCharset reports whether text in charset cs can be converted to
// UTF-8 (labels that only say "unknown" count as known: they are guessed).
// IMAP SEARCH CHARSET answers NO [BADCHARSET] for the others.
func KnownCharset(cs string) bool {
	cs = canonicalCharset(cs)
	if undeclared(cs) || cs == "utf-8" {
		return true
	}
	_, err := charset.Reader(cs, bytes.NewReader(nil))
	return err == nil
}

// mostlyUTF8 reports whether the multibyte UTF-8 sequences in b clearly
// outnumber its invalid bytes (UTF-8 text with a damaged byte or two, as
// opposed to Latin-1 text, where nearly every 8-bit byte is invalid).
func mostlyUTF8(b []byte) bool {
	good, bad := 0, 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			bad++
		case n > 1:
			good++
		}
		b = b[n:]
	}
	return good > 0 && good >= 2*bad
}
