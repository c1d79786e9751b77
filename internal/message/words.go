package message

import (
	"strings"
	"unicode/utf8"
)

// DecodeHeader decodes the RFC 2047 encoded-words in a header value to
// UTF-8 and converts any raw 8-bit text (RFC 6532 UTF-8, or undeclared
// Latin-1) to UTF-8. It never fails and always returns valid UTF-8.
//
// It is more tolerant than RFC 2047 asks, as mail clients are: encoded-words
// glued to other text or containing spaces are decoded, white space between
// adjacent encoded-words is dropped, adjacent words in the same charset are
// joined before conversion (so a multibyte character split across two words
// survives), unknown charsets are guessed, and a malformed word is left as
// it is.
func DecodeHeader(v string) string {
	if !strings.Contains(v, "=?") {
		return textUTF8(v)
	}
	var out strings.Builder
	out.Grow(len(v))
	var pend []byte // decoded bytes of adjacent words in pendCS
	pendCS := ""
	flush := func() {
		if len(pend) > 0 {
			out.WriteString(ToUTF8(pend, pendCS))
			pend = pend[:0]
		}
	}
	lit, search := 0, 0 // start of text not yet written; where to look on
	afterWord := false
	for {
		j := strings.Index(v[search:], "=?")
		if j < 0 {
			break
		}
		w := search + j
		cs, data, n, ok := parseWord(v[w:])
		if !ok {
			search = w + 2 // not a word: it stays in the literal text
			continue
		}
		if text := v[lit:w]; !afterWord || strings.Trim(text, " \t\r\n") != "" {
			flush()
			out.WriteString(textUTF8(text))
		}
		if len(pend) > 0 && cs != pendCS {
			flush()
		}
		pendCS = cs
		pend = append(pend, data...)
		afterWord = true
		lit, search = w+n, w+n
	}
	flush()
	out.WriteString(textUTF8(v[lit:]))
	return out.String()
}

// textUTF8 converts raw header text to UTF-8 (see guessUTF8).
func textUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return guessUTF8([]byte(s))
}

// Bounds of an encoded-word we decode. RFC 2047 §2 allows 75 characters
// in all; mailers in the wild write longer ones.
const (
	maxCharsetLen = 64
	maxWordText   = 1000
)

// parseWord parses the encoded-word "=?charset?enc?text?=" at the start of s
// and returns its charset (lower-cased, RFC 2231 language removed), its
// decoded bytes and its length.
func parseWord(s string) (cs string, data []byte, n int, ok bool) {
	// Searches are bounded so that many "=?" without "?=" stay linear.
	rest := s[2:]
	q := strings.IndexByte(rest[:min(len(rest), maxCharsetLen+1)], '?')
	if q <= 0 || strings.ContainsAny(rest[:q], " \t\r\n=") {
		return "", nil, 0, false
	}
	cs = strings.ToLower(rest[:q])
	if k := strings.IndexByte(cs, '*'); k >= 0 {
		cs = cs[:k]
	}
	rest = rest[q+1:]
	if len(rest) < 2 || rest[1] != '?' {
		return "", nil, 0, false
	}
	enc := rest[0]
	rest = rest[2:]
	e := strings.Index(rest[:min(len(rest), maxWordText+2)], "?=")
	if e < 0 {
		return "", nil, 0, false
	}
	text := rest[:e]
	if strings.Contains(text, "=?") {
		return "", nil, 0, false
	}
	switch enc {
	case 'b', 'B':
		data = decodeBase64Lax([]byte(text))
	case 'q', 'Q':
		data = decodeQWord(text)
	default:
		return "", nil, 0, false
	}
	return cs, data, 2 + q + 1 + 2 + e + 2, true
}

// decodeQWord decodes the "Q" encoding of RFC 2047 §4.2: "_" is a space,
// "=XX" a byte; a stray "=" is kept.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
