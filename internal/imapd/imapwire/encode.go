package imapwire

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// maxQuoted is the longest string sent quoted; longer ones are literals,
// which clients parse without unescaping.
const maxQuoted = 1024

// AppendQuotable reports whether s can be sent as a quoted string: no
// CR, LF or NUL, and 8-bit bytes only as valid UTF-8 when utf8ok
// (RFC 9051 §4.3, RFC 6855 §3).
func quotable(s string, utf8ok bool) bool {
	if len(s) > maxQuoted {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
		if c >= 0x80 && !utf8ok {
			return false
		}
	}
	return !utf8ok || utf8.ValidString(s)
}

// AppendString appends s as a quoted string, or as a literal when it
// cannot be quoted.
func AppendString(b []byte, s string, utf8ok bool) []byte {
	if quotable(s, utf8ok) {
		return AppendQuoted(b, s)
	}
	return AppendLiteral(b, s)
}

// AppendQuoted appends s quoted; the caller has checked quotable.
func AppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// AppendLiteralBytes appends {n} CRLF and the data.
func AppendLiteralBytes(b []byte, data []byte) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(data)), 10)
	b = append(b, "}\r\n"...)
	return append(b, data...)
}

// AppendLiteral appends {n} CRLF and the data.
func AppendLiteral(b []byte, s string) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// AppendLiteral8 appends ~{n} CRLF and the data (RFC 3516 literal8, for
// BINARY content holding NUL).
func AppendLiteral8(b []byte, s []byte) []byte {
	b = append(b, "~{"...)
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

// AppendNString appends NIL when isNil, else the string.
func AppendNString(b []byte, s string, isNil, utf8ok bool) []byte {
	if isNil {
		return append(b, "NIL"...)
	}
	return AppendString(b, s, utf8ok)
}

// AppendAString appends s as an atom when it is one, else as a string.
func AppendAString(b []byte, s string, utf8ok bool) []byte {
	if s != "" && len(s) < 256 {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAStringChar(s[i]) {
				atom = false
				break
			}
		}
		if atom && !(len(s) == 3 && (s[0]|0x20) == 'n' && (s[1]|0x20) == 'i' && (s[2]|0x20) == 'l') {
			return append(b, s...)
		}
	}
	return AppendString(b, s, utf8ok)
}

// AppendDateTime appends a quoted date-time, e.g.
// " 1-Feb-2024 10:00:00 +0100" (RFC 9051 date-time, day space-padded).
func AppendDateTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, "_2-Jan-2006 15:04:05 -0700")
	return append(b, '"')
}

// AppendFlags appends a parenthesised flag list.
func AppendFlags(b []byte, flags []string) []byte {
	b = append(b, '(')
	for i, f := range flags {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return append(b, ')')
}

// ValidFlag reports whether f can be sent as a flag: "\" atom or atom.
func ValidFlag(f string) bool {
	if len(f) > 0 && f[0] == '\\' {
		f = f[1:]
	}
	if f == "" || len(f) > 256 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if !isAtomChar(f[i]) {
			return false
		}
	}
	return true
}
