package dnsx

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// CacheOptions configure a Cache. Zero values take the defaults.
type CacheOptions struct {
	// MaxEntries bounds the names kept (default 10,000: a few MiB).
	MaxEntries int
	// MaxTTL caps how long an answer is kept, whatever its TTL says
	// (default 1 hour).
	MaxTTL time.Duration
	// MaxNegativeTTL caps how long "no such name / no such record" is
	// kept (default 15 minutes; RFC 2308 §5 suggests at most 1-3 hours).
	MaxNegativeTTL time.Duration
	// Timeout bounds one exchange with a server (default 5 s).
	Timeout time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Cache is a Resolver that keeps TXT and MX answers for as long as their
// TTL allows (capped by CacheOptions), so that the SPF and DMARC records
// of a sender are asked once per TTL and not once per message. Negative
// answers are kept as RFC 2308 says (SOA TTL and MINIMUM, never without a
// SOA); failures (SERVFAIL, time-outs) are never kept. Address lookups
// (A/AAAA, PTR) go to the system's way of resolving through the same
// servers, uncached, so that /etc/hosts and IP literals keep working.
// It is safe for concurrent use.
type Cache struct {
	x     exchanger
	inner Resolver
	o     CacheOptions

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	qtype uint16
	name  string // lower case, fully qualified
}

type cacheEntry struct {
	a       answer
	expires time.Time
}

// NewCache returns a caching resolver that asks server (host:port).
func NewCache(server string, o CacheOptions) *Cache {
	return newCache([]string{server}, Via(server), o)
}

// SystemCache returns a caching resolver asking the name servers of
// /etc/resolv.conf, or the uncached system resolver when that file names
// none.
func SystemCache(o CacheOptions) Resolver {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return System()
	}
	servers := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		servers = append(servers, net.JoinHostPort(s, cc.Port))
	}
	return newCache(servers, System(), o)
}

func newCache(servers []string, inner Resolver, o CacheOptions) *Cache {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10000
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = time.Hour
	}
	if o.MaxNegativeTTL <= 0 {
		o.MaxNegativeTTL = 15 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = queryTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{
		x:       exchanger{servers: servers, timeout: o.Timeout},
		inner:   inner,
		o:       o,
		entries: make(map[cacheKey]cacheEntry),
	}
}

// lookup returns the answer for name and qtype, from the cache while it
// is fresh.
func (c *Cache) lookup(ctx context.Context, name string, qtype uint16) answer {
	k := cacheKey{qtype: qtype, name: strings.ToLower(dns.Fqdn(name))}
	now := c.o.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.a
	}
	a := c.x.query(ctx, name, qtype)
	ttl := a.ttl
	switch {
	case a.err != nil && !IsNotFound(a.err):
		ttl = 0 // a failure to find out is asked again next time
	case a.err != nil:
		ttl = min(ttl, c.o.MaxNegativeTTL)
	default:
		ttl = min(ttl, c.o.MaxTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl <= 0 {
		delete(c.entries, k)
		return a
	}
	if len(c.entries) >= c.o.MaxEntries {
		c.evict(now)
	}
	c.entries[k] = cacheEntry{a: a, expires: now.Add(ttl)}
	return a
}

// evict makes room: it drops expired entries, and if none had expired
// an eighth of the others (the map's order is arbitrary). c.mu is held.
func (c *Cache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.o.MaxEntries + 1 + c.o.MaxEntries/8
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// Len is the number of names cached (tests, metrics).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// LookupTXT implements Resolver: the strings of each record joined, as
// the net package returns them.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a := c.lookup(ctx, name, dns.TypeTXT)
	if a.err != nil {
		return nil, a.err
	}
	out := make([]string, 0, len(a.rrs))
	for _, rr := range a.rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX implements Resolver: sorted by preference.
func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	a := c.lookup(ctx, name, dns.TypeMX)
	if a.err != nil {
		return nil, a.err
	}
	out := make([]*net.MX, 0, len(a.rrs))
	for _, rr := range a.rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupIPAddr implements Resolver, uncached.
func (c *Cache) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return c.inner.LookupIPAddr(ctx, host)
}

// LookupAddr implements Resolver, uncached.
func (c *Cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return c.inner.LookupAddr(ctx, addr)
}
