package dnsx

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// answer is one DNS response reduced to what the cache needs: the
// records of the type asked (after following CNAMEs), and how long the
// answer may be kept (0: not at all).
type answer struct {
	rrs []dns.RR
	ttl time.Duration
	err error // a *net.DNSError for NXDOMAIN, NODATA and failures
}

// exchanger asks DNS servers directly, so that the cache learns the TTL
// of every answer (the net package does not say it).
type exchanger struct {
	servers []string // host:port, tried in order
	timeout time.Duration
}

// query asks the servers for name's records of type qtype. A server that
// does not answer, or answers SERVFAIL or REFUSED, makes the next one be
// tried.
func (x *exchanger) query(ctx context.Context, name string, qtype uint16) answer {
	fqdn := dns.Fqdn(name)
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	var last answer
	for _, srv := range x.servers {
		r, err := x.exchange(ctx, m, srv)
		if err != nil {
			last = answer{err: dnsError(name, srv, err)}
			if ctx.Err() != nil {
				break
			}
			continue
		}
		a := reduce(r, fqdn, qtype, name, srv)
		if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			last = a
			continue
		}
		return a
	}
	return last
}

// exchange sends m over UDP, and again over TCP when the answer is
// truncated.
func (x *exchanger) exchange(ctx context.Context, m *dns.Msg, srv string) (*dns.Msg, error) {
	c := dns.Client{Net: "udp", Timeout: x.timeout}
	r, _, err := c.ExchangeContext(ctx, m, srv)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, srv)
	}
	return r, err
}

// reduce turns a response into an answer: the records of qtype at the end
// of the CNAME chain starting at fqdn, the smallest TTL among them and
// the CNAMEs, or for a negative answer the TTL RFC 2308 §5 allows (the
// smaller of the SOA record's TTL and its MINIMUM; none without a SOA).
func reduce(r *dns.Msg, fqdn string, qtype uint16, name, srv string) answer {
	switch r.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	case dns.RcodeServerFailure:
		return answer{err: &net.DNSError{Err: "server misbehaving", Name: name, Server: srv, IsTemporary: true}}
	default:
		return answer{err: &net.DNSError{Err: "DNS error " + dns.RcodeToString[r.Rcode], Name: name, Server: srv}}
	}
	cur := fqdn
	var min uint32
	first := true
	note := func(ttl uint32) {
		if first || ttl < min {
			min, first = ttl, false
		}
	}
	// A chain of at most a few CNAMEs, in any order in the section.
	for range 8 {
		moved := false
		for _, rr := range r.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) && qtype != dns.TypeCNAME {
				note(c.Hdr.Ttl)
				cur, moved = c.Target, true
				break
			}
		}
		if !moved {
			break
		}
	}
	var a answer
	for _, rr := range r.Answer {
		if h := rr.Header(); h.Rrtype == qtype && strings.EqualFold(h.Name, cur) {
			a.rrs = append(a.rrs, rr)
			note(h.Ttl)
		}
	}
	if len(a.rrs) > 0 {
		a.ttl = time.Duration(min) * time.Second
		return a
	}
	// NXDOMAIN or NODATA: both are "not found" to the net package too.
	a.err = &net.DNSError{Err: "no such host", Name: name, Server: srv, IsNotFound: true}
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			a.ttl = time.Duration(min32(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			break
		}
	}
	return a
}

func min32(a, b uint32) uint32 {
	if a < b {
		return a
	}
	return b
}

// dnsError describes a failed exchange as the net package would.
func dnsError(name, srv string, err error) *net.DNSError {
	de := &net.DNSError{Err: err.Error(), Name: name, Server: srv, IsTemporary: true}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		de.IsTimeout = true
	}
	return de
}
