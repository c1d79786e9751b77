package imapwire

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 §5.1.3) is how IMAP4rev1 clients that have not
// enabled UTF8=ACCEPT name mailboxes: printable ASCII stands for itself
// except "&", written "&-"; other characters are UTF-16 in modified base64
// ("," instead of "/", no padding) between "&" and "-".

var b64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// ErrBadUTF7 is a mailbox name that is not valid modified UTF-7.
var ErrBadUTF7 = errors.New("mailbox name is not valid modified UTF-7")

// EncodeUTF7 converts a UTF-8 mailbox name to modified UTF-7.
func EncodeUTF7(s string) string {
	var b strings.Builder
	var pending []uint16
	flush := func() {
		if len(pending) == 0 {
			return
		}
		raw := make([]byte, 0, 2*len(pending))
		for _, u := range pending {
			raw = append(raw, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(b64.EncodeToString(raw))
		b.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			pending = append(pending, uint16(r1), uint16(r2))
		} else {
			pending = append(pending, uint16(r))
		}
	}
	flush()
	return b.String()
}

// DecodeUTF7 converts a modified UTF-7 mailbox name to UTF-8. It refuses
// what RFC 3501 §5.1.3 forbids: raw 8-bit bytes, "&" not closed by "-",
// base64 that encodes printable ASCII or broken surrogates, and two
// adjacent encoded runs.
func DecodeUTF7(s string) (string, error) {
	if !strings.Contains(s, "&") {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return "", ErrBadUTF7
			}
		}
		return s, nil
	}
	var b strings.Builder
	lastEncodedEnd := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBadUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrBadUTF7
		}
		enc := s[i+1 : i+1+j]
		if enc == "" {
			b.WriteByte('&')
			i++
			continue
		}
		if lastEncodedEnd == i {
			return "", ErrBadUTF7 // "&AGE-&AGE-" must be one run
		}
		for k := 0; k < len(enc); k++ {
			// The decoder skips CR and LF; the name may not hold them.
			if c := enc[k]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == ',') {
				return "", ErrBadUTF7
			}
		}
		raw, err := b64.Strict().DecodeString(enc)
		if err != nil || len(raw)%2 != 0 || len(raw) == 0 {
			return "", ErrBadUTF7
		}
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for k := 0; k < len(units); k++ {
			u := units[k]
			var r rune
			switch {
			case utf16.IsSurrogate(rune(u)):
				if k+1 >= len(units) {
					return "", ErrBadUTF7
				}
				r = utf16.DecodeRune(rune(u), rune(units[k+1]))
				if r == utf8.RuneError {
					return "", ErrBadUTF7
				}
				k++
			default:
				r = rune(u)
			}
			if r >= 0x20 && r <= 0x7e {
				return "", ErrBadUTF7 // must have been written directly
			}
			b.WriteRune(r)
		}
		i += 1 + j
		lastEncodedEnd = i + 1
	}
	return b.String(), nil
}
