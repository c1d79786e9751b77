package message

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownEncoding is wrapped by the error Part.Decoded returns for a
// Content-Transfer-Encoding it cannot decode (IMAP answers BINARY fetches of
// such parts with NO [UNKNOWN-CTE], RFC 3516 §4.3).
var ErrUnknownEncoding = errors.New("message: unknown content-transfer-encoding")

// Decoded returns the body of p with its Content-Transfer-Encoding removed
// (IMAP BINARY[n]). Damaged base64 or quoted-printable is decoded as far as
// it makes sense (invalid characters skipped, stray "=" kept) rather than
// refused. An encoding other than 7bit, 8bit, binary, base64 and
// quoted-printable gives an error wrapping ErrUnknownEncoding.
func (p *Part) Decoded(msg []byte) ([]byte, error) {
	return transferDecode(p.Body(msg), p.Encoding)
}

func transferDecode(body []byte, enc string) ([]byte, error) {
	switch normalEncoding(enc) {
	case "7BIT", "8BIT", "BINARY", "":
		return body, nil
	case "BASE64":
		return decodeBase64Lax(body), nil
	case "QUOTED-PRINTABLE":
		return decodeQP(body), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownEncoding, enc)
}

// normalEncoding upper-cases an encoding name and maps the misspellings
// seen in the wild to their standard names.
func normalEncoding(enc string) string {
	enc = strings.ToUpper(strings.TrimSpace(enc))
	switch enc {
	case "BASE-64", "X-BASE64", "B64":
		return "BASE64"
	case "QUOTED_PRINTABLE", "QUOTEDPRINTABLE", "QP", "X-QUOTED-PRINTABLE":
		return "QUOTED-PRINTABLE"
	case "7-BIT", "7BITS", "US-ASCII", "ASCII":
		return "7BIT"
	case "8-BIT", "8BITS":
		return "8BIT"
	}
	return enc
}

// identityEncoding reports whether a body in encoding enc is stored as is,
// so that an enclosed message can be located in it.
func identityEncoding(enc string) bool {
	switch normalEncoding(enc) {
	case "7BIT", "8BIT", "BINARY", "":
		return true
	}
	return false
}

// base64Value returns the value of a base64 alphabet character, or 0xff.
func base64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return 0xff
}

// decodeBase64Lax decodes base64, skipping characters outside the alphabet
// (line breaks, spaces, junk). Padding ends a quantum; decoding then
// resumes, so that concatenated base64 blocks decode too. A dangling
// single character is dropped.
func decodeBase64Lax(b []byte) []byte {
	out := make([]byte, 0, len(b)*3/4)
	var acc uint32
	n := 0
	for _, c := range b {
		v := base64Value(c)
		if v == 0xff {
			if c == '=' && n > 0 {
				out = flushQuantum(out, acc, n)
				acc, n = 0, 0
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	return flushQuantum(out, acc, n)
}

// flushQuantum appends the bytes of an incomplete quantum of n characters.
func flushQuantum(out []byte, acc uint32, n int) []byte {
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: trailing
// white space on a line is transport padding and dropped, "=" before the
// line end (white space allowed between) is a soft line break, "=XX" is a
// byte (lower-case hex accepted), any other "=" is kept literally. Hard line
// breaks keep their original form (CRLF or LF).
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line := b
		var eol []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, eol, b = b[:i], b[i:i+1], b[i+1:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line, eol = line[:len(line)-1], []byte("\r\n")
			}
		} else {
			b = nil
		}
		// Transport padding.
		for len(line) > 0 && isWSP(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		soft := false
		if len(line) > 0 && line[len(line)-1] == '=' {
			line, soft = line[:len(line)-1], true
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				out = append(out, unhex(line[i+1])<<4|unhex(line[i+2]))
				i += 2
				continue
			}
			out = append(out, c)
		}
		if !soft {
			out = append(out, eol...)
		}
	}
	return out
}
