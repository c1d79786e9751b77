package message

import "bytes"

// ToCRLF returns b with every bare LF and every bare CR replaced by CRLF,
// the canonical line ending of stored messages (RFC 5322 §2.1). Input that
// is already canonical is returned as is, without copying.
func ToCRLF(b []byte) []byte {
	if canonicalCRLF(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32+2)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// canonicalCRLF reports whether every CR in b is followed by LF and every
// LF preceded by CR.
func canonicalCRLF(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexAny(b[i:], "\r\n")
		if j < 0 {
			return true
		}
		i += j
		if b[i] == '\n' || i+1 >= len(b) || b[i+1] != '\n' {
			return false
		}
		i += 2
	}
}
