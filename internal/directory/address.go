// Package directory turns addresses into the accounts and external
// forwards that should receive mail, on top of store.Directory.
//
// It normalises addresses (case-insensitive local parts, internationalised
// domains in A-label form), resolves aliases, catch-alls and plus
// addresses with a loop and depth guard, and answers whether an address
// belongs to an account (for submission's sender check). It does not
// store anything itself.
package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ErrBadAddress is returned for an address that cannot be parsed.
var ErrBadAddress = errors.New("malformed address")

// MaxAddressLength is the longest address accepted (RFC 5321 §4.5.3.1.3
// path limit, less the angle brackets).
const MaxAddressLength = 254

// idnaProfile converts domains for lookup; it is stateless and safe for
// concurrent use, so one value serves every call.
var idnaProfile = idna.Lookup

// Normalize parses "local@domain" and returns it with a lower-cased local
// part and the domain in lower-case A-label form. It accepts UTF-8 local
// parts (SMTPUTF8) and U-label domains, and refuses anything a mailbox
// address cannot be: source routes, several @, %-hacks stay in the local
// part (so they can never route elsewhere), control characters, spaces
// outside quotes.
func Normalize(addr string) (string, error) {
	local, domain, err := Split(addr)
	if err != nil {
		return "", err
	}
	return local + "@" + domain, nil
}

// Split normalises an address and returns its local part and domain.
func Split(addr string) (local, domain string, err error) {
	if len(addr) == 0 || len(addr) > MaxAddressLength {
		return "", "", fmt.Errorf("%w: %q: empty or longer than %d bytes", ErrBadAddress, addr, MaxAddressLength)
	}
	if !utf8.ValidString(addr) {
		return "", "", fmt.Errorf("%w: %q: not valid UTF-8", ErrBadAddress, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q: expected local@domain", ErrBadAddress, addr)
	}
	local, domain = addr[:at], addr[at+1:]
	if local, err = normalizeLocal(local); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrBadAddress, addr, err)
	}
	if domain, err = NormalizeDomain(domain); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrBadAddress, addr, err)
	}
	return local, domain, nil
}

// normalizeLocal checks a local part: a dot-atom, or a quoted string whose
// content is made of atoms (quoted forms that would change routing, like
// "a@b", are refused).
func normalizeLocal(l string) (string, error) {
	if len(l) > 64 {
		return "", errors.New("local part longer than 64 bytes")
	}
	if strings.HasPrefix(l, `"`) {
		if len(l) < 2 || !strings.HasSuffix(l, `"`) {
			return "", errors.New("unterminated quoted local part")
		}
		l = l[1 : len(l)-1]
		if strings.ContainsAny(l, `"\`) {
			return "", errors.New("escapes in quoted local part")
		}
	}
	if l == "" {
		return "", errors.New("empty local part")
	}
	if strings.HasPrefix(l, ".") || strings.HasSuffix(l, ".") || strings.Contains(l, "..") {
		return "", errors.New("misplaced dot in local part")
	}
	for _, r := range l {
		switch {
		case r < 0x21 || r == 0x7f:
			return "", errors.New("control character or space in local part")
		case r < 0x80 && strings.ContainsRune(`()<>[]:;@\,"`, r):
			return "", fmt.Errorf("character %q not allowed in local part", r)
		case r == 0xfffd:
			return "", errors.New("invalid UTF-8 in local part")
		}
	}
	return strings.ToLower(l), nil
}

// NormalizeDomain returns a domain in lower-case A-label form.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", errors.New("empty domain")
	}
	if strings.HasPrefix(d, "[") {
		return "", errors.New("address literals are not accepted")
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("domain %q: %v", d, err)
	}
	a = strings.ToLower(a)
	if len(a) > 253 {
		return "", errors.New("domain longer than 253 bytes")
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("domain %q: bad label", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("domain %q: character %q not allowed", d, c)
			}
		}
		if strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("domain %q: label starts or ends with '-'", d)
		}
	}
	return a, nil
}

// DisplayDomain returns a domain in U-label (Unicode) form for people.
func DisplayDomain(d string) string {
	u, err := idna.Display.ToUnicode(d)
	if err != nil {
		return d
	}
	return u
}

// DisplayAddress returns an address with its domain in U-label form.
func DisplayAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	return addr[:at+1] + DisplayDomain(addr[at+1:])
}

// StripPlus removes a "+tag" from the local part: "bob+news@x" is "bob@x".
// An address without a tag, or whose local part starts with "+", is
// returned as it is.
func StripPlus(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	if i := strings.IndexByte(addr[:at], '+'); i > 0 {
		return addr[:i] + addr[at:]
	}
	return addr
}
