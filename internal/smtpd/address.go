package smtpd

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxPathLength is the longest address accepted in MAIL FROM (RFC 5321
// §4.5.3.1.3: 256 octets for the path, brackets included).
const maxPathLength = 254

// canonicalPath checks a reverse path as go-smtp hands it over (source
// route dropped, quotes of a quoted local part already removed) and
// returns it in a form that is safe in Return-Path and Received headers:
// the local part as a dot-atom when it is one, else as a quoted string
// (RFC 5321 §4.1.2). The domain is kept as sent (A-labels, U-labels or an
// address literal). "" is the null reverse path.
//
// It refuses control characters, invalid UTF-8, a missing local part or
// domain, and a domain with characters no domain or address literal has,
// so nothing the client sends can break a header line.
func canonicalPath(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	if len(addr) > maxPathLength {
		return "", errors.New("address too long")
	}
	if !utf8.ValidString(addr) {
		return "", errors.New("invalid UTF-8")
	}
	for _, r := range addr {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", errors.New("control character in address")
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", errors.New("expected local@domain")
	}
	local, domain := addr[:at], addr[at+1:]
	if !validDomain(domain) {
		return "", errors.New("bad domain")
	}
	if isDotAtom(local) {
		return local + "@" + domain, nil
	}
	return quoteLocal(local) + "@" + domain, nil
}

// validDomain accepts a domain name (ASCII or U-labels; RFC 5321 §4.1.2
// Domain, RFC 6531 §3.3) or an address literal such as [192.0.2.1] or
// [IPv6:2001:db8::1]. Literals are held to letters, digits, ':', '.' and
// '-' (IPv4, IPv6 and RFC 5321 §4.1.3 general literals in practice),
// narrower than dcontent, so that no '<', '>' or ';' gets into a header.
func validDomain(d string) bool {
	if strings.HasPrefix(d, "[") {
		if len(d) < 3 || !strings.HasSuffix(d, "]") {
			return false
		}
		for _, r := range d[1 : len(d)-1] {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ':', r == '.', r == '-':
			default:
				return false
			}
		}
		return true
	}
	if len(d) > 255 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(d, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			case r >= 0x80: // U-label; the directory converts it for lookups
			default:
				return false
			}
		}
	}
	return true
}

// isAtext reports whether r may appear in an atom (RFC 5322 §3.2.3;
// RFC 6531 §3.3 adds UTF-8).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= 0x80:
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// isDotAtom reports whether s is a dot-string (RFC 5321 §4.1.2).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

// quoteLocal writes a local part as a quoted string, escaping '"' and
// '\' (RFC 5321 §4.1.2 quoted-pairSMTP).
func quoteLocal(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
