// Package autoconfig tells mail clients how to reach this server, from
// the running configuration only: Thunderbird's autoconfig XML,
// Microsoft Autodiscover (POX and the JSON v2 redirect), an Apple
// configuration profile, the "email settings" help page, and the DNS
// records (RFC 6186 SRV, MX, SPF, CNAMEs) an admin publishes.
//
// Every document names the one configured hostname (the name on the
// certificate), never a guessed "mail." or "smtp." prefix, and the user
// name is always the full address. Implicit TLS is listed before
// STARTTLS, as RFC 8314 §3 asks. The package does not check whether an
// account exists (that would let anyone probe for addresses): it only
// answers for hosted domains.
package autoconfig

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"time"

	"mailhouse/internal/config"
)

// Protocols and security values of an Endpoint, as people read them.
const (
	IMAP = "IMAP"
	POP3 = "POP3"
	SMTP = "SMTP"

	// SecTLS is implicit TLS (RFC 8314 §3): TLS from the first byte,
	// called "SSL/TLS" by most clients.
	SecTLS = "SSL/TLS"
	// SecSTARTTLS is a plaintext greeting upgraded with STARTTLS.
	SecSTARTTLS = "STARTTLS"
)

// Endpoint is one way a mail client can reach a service.
type Endpoint struct {
	Protocol string // IMAP, POP3 or SMTP (submission)
	Port     int
	Security string // SecTLS or SecSTARTTLS
}

// ImplicitTLS reports whether the endpoint speaks TLS from the start.
func (e Endpoint) ImplicitTLS() bool { return e.Security == SecTLS }

// Settings is what every generated document is made from.
type Settings struct {
	// Hostname is the server's name (config hostname); clients connect to
	// it and its certificate carries it.
	Hostname string
	// Endpoints are the client-facing listeners; order does not matter
	// (Sorted orders them).
	Endpoints []Endpoint
	// HTTPSPort is where the help page and documents are linked (443 if 0).
	HTTPSPort int
	// Retention is how long the server keeps messages in a mailbox before
	// deleting them by itself; 0 means until the user deletes them.
	Retention time.Duration
	// MaxMessageBytes is the largest message the server accepts (0: not
	// shown).
	MaxMessageBytes int64
}

// FromConfig derives the Settings of a configuration: one endpoint per
// configured listen address of the client-facing services (port 0, "any
// free port", is left out since nobody can be told it).
func FromConfig(cfg *config.Config) Settings {
	s := Settings{
		Hostname:        cfg.Hostname,
		HTTPSPort:       firstPort(cfg.Listen.HTTPS),
		MaxMessageBytes: cfg.SMTP.MaxMessageBytes,
	}
	add := func(addrs []string, proto, sec string) {
		for _, a := range addrs {
			if p := Port(a); p != 0 {
				s.Endpoints = append(s.Endpoints, Endpoint{Protocol: proto, Port: p, Security: sec})
			}
		}
	}
	add(cfg.Listen.IMAPS, IMAP, SecTLS)
	add(cfg.Listen.IMAP, IMAP, SecSTARTTLS)
	add(cfg.Listen.POP3S, POP3, SecTLS)
	add(cfg.Listen.POP3, POP3, SecSTARTTLS)
	add(cfg.Listen.Submissions, SMTP, SecTLS)
	add(cfg.Listen.Submission, SMTP, SecSTARTTLS)
	s.Endpoints = Sorted(s.Endpoints)
	return s
}

// Port returns the port of a host:port listen address, 0 if it has none.
func Port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return 0
	}
	return n
}

func firstPort(addrs []string) int {
	for _, a := range addrs {
		if p := Port(a); p != 0 {
			return p
		}
	}
	return 0
}

// Sorted returns the endpoints ordered by protocol (IMAP, POP3, SMTP),
// implicit TLS before STARTTLS (RFC 8314 §3: clients should prefer it),
// then by port, without duplicates.
func Sorted(eps []Endpoint) []Endpoint {
	out := slices.Clone(eps)
	rank := map[string]int{IMAP: 0, POP3: 1, SMTP: 2}
	slices.SortFunc(out, func(a, b Endpoint) int {
		if c := cmp.Compare(rank[a.Protocol], rank[b.Protocol]); c != 0 {
			return c
		}
		if a.ImplicitTLS() != b.ImplicitTLS() {
			if a.ImplicitTLS() {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Port, b.Port)
	})
	return slices.Compact(out)
}

// Of returns the endpoints of one protocol, preferred first.
func (s Settings) Of(proto string) []Endpoint {
	var out []Endpoint
	for _, e := range Sorted(s.Endpoints) {
		if e.Protocol == proto {
			out = append(out, e)
		}
	}
	return out
}

// Preferred returns the best endpoint of a protocol (implicit TLS first,
// then the lowest port) and whether there is one.
func (s Settings) Preferred(proto string) (Endpoint, bool) {
	eps := s.Of(proto)
	if len(eps) == 0 {
		return Endpoint{}, false
	}
	return eps[0], true
}

// BaseURL is the https:// URL of the server's web pages, without a
// trailing slash.
func (s Settings) BaseURL() string {
	if s.HTTPSPort == 0 || s.HTTPSPort == 443 {
		return "https://" + s.Hostname
	}
	return "https://" + net.JoinHostPort(s.Hostname, strconv.Itoa(s.HTTPSPort))
}
