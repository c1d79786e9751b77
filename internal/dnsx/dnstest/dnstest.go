// Package dnstest runs an authoritative DNS server on loopback for tests:
// records are given as zone-file lines, and every query gets an answer
// from them (NXDOMAIN for an unknown name, an empty answer for a known
// name without the type asked). Point dnsx.Via at Addr.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a DNS server on 127.0.0.1 (UDP and TCP on one port).
type Server struct {
	Addr string

	mu   sync.Mutex
	rrs  map[string][]dns.RR // by lower-case FQDN
	fail map[string]bool     // names answered with SERVFAIL
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{rrs: map[string][]dns.RR{}, fail: map[string]bool{}}
	// UDP and TCP share one port number; a free UDP port may be taken
	// for TCP by another process, so try a few.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for try := 0; try < 20; try++ {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
	})
	return s
}

// Add adds records, one zone-file line each, such as
// "b.test. 300 IN MX 10 mx.b.test." (names must be fully qualified).
func (s *Server) Add(t testing.TB, lines ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			t.Fatalf("dnstest: record %q: %v", l, err)
		}
		n := strings.ToLower(rr.Header().Name)
		s.rrs[n] = append(s.rrs[n], rr)
	}
}

// TXT adds a TXT record with one value (split into 255-byte strings).
func (s *Server) TXT(t testing.TB, name, value string) {
	t.Helper()
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := strings.ToLower(rr.Hdr.Name)
	s.rrs[n] = append(s.rrs[n], rr)
}

// Remove deletes every record of a name (and type, unless typ is 0).
func (s *Server) Remove(name string, typ uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := strings.ToLower(dns.Fqdn(name))
	if typ == 0 {
		delete(s.rrs, n)
		return
	}
	var keep []dns.RR
	for _, rr := range s.rrs[n] {
		if rr.Header().Rrtype != typ {
			keep = append(keep, rr)
		}
	}
	s.rrs[n] = keep
}

// Fail makes queries for name get SERVFAIL (a temporary DNS failure).
func (s *Server) Fail(name string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[strings.ToLower(dns.Fqdn(name))] = fail
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		n := strings.ToLower(q.Name)
		s.mu.Lock()
		rrs, known := s.rrs[n]
		failing := s.fail[n]
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		s.mu.Unlock()
		switch {
		case failing:
			m.Answer = nil
			m.Rcode = dns.RcodeServerFailure
		case !known:
			m.Rcode = dns.RcodeNameError
		}
	}
	_ = w.WriteMsg(m)
}
