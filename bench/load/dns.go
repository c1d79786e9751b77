package load

import (
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// SenderRecords describe loadgen.test, the domain of the load
// generator's envelope sender: SPF allowing loopback and a DMARC p=none
// record, so a server checking inbound mail finds a passing SPF.
var SenderRecords = []string{
	`loadgen.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`,
	`_dmarc.loadgen.test. 300 IN TXT "v=DMARC1; p=none"`,
	`loadgen.test. 300 IN A 127.0.0.1`,
}

// DNSServer is a tiny authoritative DNS server for benchmarks: it
// answers from zone-file lines and NXDOMAIN for other names. It stands
// in for the local caching resolver of a production MX, so SPF/DMARC
// checks of inbound mail cost what a cached answer costs.
type DNSServer struct {
	Addr    string // host:port it serves on (UDP and TCP)
	servers []*dns.Server
}

// StartDNS serves records on addr ("127.0.0.1:0" picks a port).
func StartDNS(addr string, records []string) (*DNSServer, error) {
	zone := map[string][]dns.RR{}
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil {
			return nil, fmt.Errorf("record %q: %w", line, err)
		}
		name := strings.ToLower(rr.Header().Name)
		zone[name] = append(zone[name], rr)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if len(req.Question) == 1 {
			q := req.Question[0]
			rrs, ok := zone[strings.ToLower(q.Name)]
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		_ = w.WriteMsg(m)
	})
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return nil, err
	}
	s := &DNSServer{Addr: pc.LocalAddr().String()}
	s.servers = []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, srv := range s.servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
	}
	return s, nil
}

// Close stops the server.
func (s *DNSServer) Close() {
	for _, srv := range s.servers {
		_ = srv.Shutdown()
	}
}

// listenBoth opens UDP and TCP on one port; with port 0 it retries
// until a port free for both is found.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, err
		}
	}
}
