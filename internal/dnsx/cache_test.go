package dnsx_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailhouse/internal/dnsx"
)

// zone is a loopback DNS server for the cache tests: it counts the
// queries it gets, answers NXDOMAIN with a SOA (negative TTL 30 s) for
// names under neg.test and without one elsewhere, and SERVFAIL for
// names marked failing.
type zone struct {
	addr    string
	queries atomic.Int64
	mu      sync.Mutex
	txt     map[string]string // lower-case FQDN -> value (TTL 60)
	fail    map[string]bool
}

func startZone(t *testing.T) *zone {
	z := &zone{txt: map[string]string{}, fail: map[string]bool{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve)}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return z
}

func (z *zone) set(name, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if value == "" {
		delete(z.txt, name)
	} else {
		z.txt[name] = value
	}
}

func (z *zone) setFail(name string, fail bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.fail[name] = fail
}

func (z *zone) serve(w dns.ResponseWriter, req *dns.Msg) {
	z.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	n := strings.ToLower(q.Name)
	z.mu.Lock()
	v, ok := z.txt[n]
	failing := z.fail[n]
	z.mu.Unlock()
	switch {
	case failing:
		m.Rcode = dns.RcodeServerFailure
	case ok && q.Qtype == dns.TypeTXT:
		m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v[:len(v)/2], v[len(v)/2:]}})
	case ok: // NODATA
	default:
		m.Rcode = dns.RcodeNameError
		if strings.HasSuffix(n, "neg.test.") {
			m.Ns = append(m.Ns, &dns.SOA{Hdr: dns.RR_Header{Name: "neg.test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
				Ns: "ns.neg.test.", Mbox: "h.neg.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 600, Minttl: 30})
		}
	}
	_ = w.WriteMsg(m)
}

// clock is a settable time for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestCacheTTL: an answer is asked once and served from the cache until
// its TTL (60 s) runs out; then a change on the server is seen.
func TestCacheTTL(t *testing.T) {
	z := startZone(t)
	clk := &clock{now: time.Unix(1e9, 0)}
	c := dnsx.NewCache(z.addr, dnsx.CacheOptions{Now: clk.Now})
	ctx := context.Background()
	z.set("a.test.", "v=spf1 ip4:192.0.2.1 -all")
	for range 5 {
		got, err := c.LookupTXT(ctx, "A.test")
		if err != nil || len(got) != 1 || got[0] != "v=spf1 ip4:192.0.2.1 -all" {
			t.Fatalf("LookupTXT = %q, %v", got, err)
		}
	}
	if n := z.queries.Load(); n != 1 {
		t.Errorf("%d queries for 5 lookups, want 1", n)
	}
	z.set("a.test.", "v=spf1 -all")
	clk.add(59 * time.Second)
	if got, _ := c.LookupTXT(ctx, "a.test."); len(got) != 1 || got[0] != "v=spf1 ip4:192.0.2.1 -all" {
		t.Errorf("within the TTL: %q, want the cached answer", got)
	}
	clk.add(2 * time.Second)
	if got, _ := c.LookupTXT(ctx, "a.test."); len(got) != 1 || got[0] != "v=spf1 -all" {
		t.Errorf("after the TTL: %q, want the new record", got)
	}
	// NODATA (the name exists, no MX) is "not found", like the net package says.
	if _, err := c.LookupMX(ctx, "a.test"); !dnsx.IsNotFound(err) {
		t.Errorf("LookupMX of a name without MX: %v, want not found", err)
	}
}

// TestCacheNegative: NXDOMAIN with a SOA is kept for the SOA's MINIMUM
// (RFC 2308 §5), capped by MaxNegativeTTL; without a SOA it is not kept.
func TestCacheNegative(t *testing.T) {
	z := startZone(t)
	clk := &clock{now: time.Unix(1e9, 0)}
	c := dnsx.NewCache(z.addr, dnsx.CacheOptions{Now: clk.Now})
	ctx := context.Background()

	if _, err := c.LookupTXT(ctx, "_dmarc.x.neg.test"); !dnsx.IsNotFound(err) {
		t.Fatalf("missing name: %v, want not found", err)
	}
	z.set("_dmarc.x.neg.test.", "v=DMARC1; p=reject")
	clk.add(29 * time.Second)
	if _, err := c.LookupTXT(ctx, "_dmarc.x.neg.test"); !dnsx.IsNotFound(err) {
		t.Errorf("within the negative TTL: %v, want the cached not found", err)
	}
	clk.add(2 * time.Second)
	if got, err := c.LookupTXT(ctx, "_dmarc.x.neg.test"); err != nil || len(got) != 1 {
		t.Errorf("after the negative TTL: %q, %v, want the new record", got, err)
	}

	if _, err := c.LookupTXT(ctx, "nosoa.test"); !dnsx.IsNotFound(err) {
		t.Fatalf("missing name: %v, want not found", err)
	}
	z.set("nosoa.test.", "v=spf1 -all")
	if got, err := c.LookupTXT(ctx, "nosoa.test"); err != nil || len(got) != 1 {
		t.Errorf("NXDOMAIN without SOA was kept: %q, %v", got, err)
	}

	capped := dnsx.NewCache(z.addr, dnsx.CacheOptions{Now: clk.Now, MaxNegativeTTL: 5 * time.Second})
	if _, err := capped.LookupTXT(ctx, "y.neg.test"); !dnsx.IsNotFound(err) {
		t.Fatal(err)
	}
	z.set("y.neg.test.", "v=spf1 -all")
	clk.add(6 * time.Second)
	if _, err := capped.LookupTXT(ctx, "y.neg.test"); err != nil {
		t.Errorf("past MaxNegativeTTL: %v, want the new record", err)
	}
}

// TestCacheFailure: SERVFAIL is a temporary error and is asked again
// next time.
func TestCacheFailure(t *testing.T) {
	z := startZone(t)
	c := dnsx.NewCache(z.addr, dnsx.CacheOptions{})
	ctx := context.Background()
	z.set("f.test.", "v=spf1 -all")
	z.setFail("f.test.", true)
	_, err := c.LookupTXT(ctx, "f.test")
	if err == nil || dnsx.IsNotFound(err) || !dnsx.IsTemporary(err) {
		t.Fatalf("SERVFAIL: %v, want a temporary error", err)
	}
	z.setFail("f.test.", false)
	if got, err := c.LookupTXT(ctx, "f.test"); err != nil || len(got) != 1 {
		t.Errorf("after the failure ended: %q, %v", got, err)
	}
	// No server at all: a time-out, also temporary.
	dead := dnsx.NewCache("127.0.0.1:1", dnsx.CacheOptions{Timeout: 200 * time.Millisecond})
	if _, err := dead.LookupTXT(ctx, "f.test"); err == nil || !dnsx.IsTemporary(err) {
		t.Errorf("unreachable server: %v, want a temporary error", err)
	}
	if dead.Len() != 0 {
		t.Errorf("a failure was cached")
	}
}

// TestCacheBounded: the cache never holds more than MaxEntries names.
func TestCacheBounded(t *testing.T) {
	z := startZone(t)
	c := dnsx.NewCache(z.addr, dnsx.CacheOptions{MaxEntries: 16})
	ctx := context.Background()
	for i := range 100 {
		name := fmt.Sprintf("n%d.test.", i)
		z.set(name, "v=spf1 -all")
		if _, err := c.LookupTXT(ctx, name); err != nil {
			t.Fatal(err)
		}
		if n := c.Len(); n > 16 {
			t.Fatalf("after %d names: %d cached, limit 16", i+1, n)
		}
	}
}
