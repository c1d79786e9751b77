package message

import (
	"strings"

	"github.com/emersion/go-message/mail"
)

// ParseAddressList parses an address-list header value (From, To, Cc ...)
// and never fails. Groups are kept as RFC 9051 markers (see Address); an
// address without a local part or domain gets MissingMailbox or
// MissingDomain; display names are decoded to UTF-8. At most MaxAddresses
// entries are returned.
//
// A value without groups or routes goes to go-message's strict RFC 5322
// parser first; when it refuses the value (or for groups and routes, which
// it flattens or rejects) our tolerant parser takes over.
func ParseAddressList(s string) []Address {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.IndexByte(s, ':') < 0 {
		if l, ok := parseAddressesStrict(s); ok {
			return l
		}
	}
	return parseAddressesLax(s)
}

func parseAddressesStrict(s string) ([]Address, bool) {
	list, err := mail.ParseAddressList(s)
	if err != nil || len(list) == 0 || len(list) > MaxAddresses {
		return nil, false
	}
	out := make([]Address, 0, len(list))
	for _, a := range list {
		at := strings.LastIndexByte(a.Address, '@')
		if at <= 0 || at == len(a.Address)-1 {
			return nil, false
		}
		name := a.Name
		if strings.Contains(name, "=?") || !isASCII([]byte(name)) {
			name = DecodeHeader(name) // words left inside quotes, raw 8-bit
		}
		out = append(out, Address{
			Name:    name,
			Mailbox: guessUTF8([]byte(a.Address[:at])),
			Host:    guessUTF8([]byte(a.Address[at+1:])),
		})
	}
	return out, true
}
