package webmail

import (
	"strings"

	"github.com/emersion/go-message/mail"

	"mailhouse/internal/directory"
	"mailhouse/internal/message"
)

// maxAddressField bounds what one address field of the compose form may
// hold before it is parsed.
const maxAddressField = 64 << 10

// displayName is how an address is named in lists: its display name, or
// the address itself.
func displayName(a message.Address) string {
	if n := strings.TrimSpace(oneLine(a.Name)); n != "" {
		return n
	}
	return a.Mailbox + "@" + a.Host
}

// formatAddress writes an address for reading: "Name <addr>" or "addr".
func formatAddress(a message.Address) string {
	addr := a.Mailbox + "@" + a.Host
	if n := strings.TrimSpace(oneLine(a.Name)); n != "" && n != addr {
		return n + " <" + addr + ">"
	}
	return addr
}

// plainAddress is the bare address of a message.Address.
func plainAddress(a message.Address) string { return a.Mailbox + "@" + a.Host }

// realAddresses drops group markers and placeholder addresses.
func realAddresses(l []message.Address) []message.Address {
	var out []message.Address
	for _, a := range l {
		if a.Host == "" || a.Host == message.MissingDomain || a.Mailbox == message.MissingMailbox {
			continue
		}
		out = append(out, a)
	}
	return out
}

// toMail converts addresses for go-message's header writer.
func toMail(l []message.Address) []*mail.Address {
	out := make([]*mail.Address, 0, len(l))
	for _, a := range l {
		out = append(out, &mail.Address{Name: strings.TrimSpace(oneLine(a.Name)), Address: plainAddress(a)})
	}
	return out
}

// addressList formats addresses for a compose field.
func addressList(l []message.Address) string {
	parts := make([]string, 0, len(l))
	for _, a := range l {
		parts = append(parts, (&mail.Address{Name: strings.TrimSpace(oneLine(a.Name)), Address: plainAddress(a)}).String())
	}
	return strings.Join(parts, ", ")
}

// parseRecipients reads what the user typed in an address field: a list
// separated by commas, semicolons or new lines, each entry "addr",
// "Name <addr>" or "\"Last, First\" <addr>". It returns the addresses it
// understood and the entries it did not. It never fails on any input.
func parseRecipients(s string) (ok []*mail.Address, bad []string) {
	if len(s) > maxAddressField {
		return nil, []string{"(the list is too long)"}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	for _, item := range splitAddresses(s) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		a, err := mail.ParseAddress(item)
		if err != nil || !validAddress(a.Address) {
			// A bare address with a stray display part, e.g. "bob@x.org>".
			bad = append(bad, item)
			continue
		}
		ok = append(ok, a)
	}
	return ok, bad
}

// splitAddresses splits on separators outside quotes, angle brackets and
// comments.
func splitAddresses(s string) []string {
	var out []string
	depth, quoted, angle, start := 0, false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case !angle && (c == ',' || c == ';' || c == '\n' || c == '\r'):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// validAddress reports whether an address can be sent to: one the
// directory can normalise (no address literals, no source routes).
func validAddress(addr string) bool {
	_, err := directory.Normalize(addr)
	return err == nil
}
