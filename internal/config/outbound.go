package config

import (
	"fmt"
	"net"
	"strings"
)

// Queue tunes outbound delivery; zero fields take the queue's defaults
// (internal/queue.Config).
type Queue struct {
	MaxConnections int      `toml:"max_connections"` // default 20
	RetryMin       Duration `toml:"retry_min"`       // first back-off; default 5m, doubling
	RetryMax       Duration `toml:"retry_max"`       // default 2h
	MaxAge         Duration `toml:"max_age"`         // bounce after; default 5 days (120h)
	WarnAfter      Duration `toml:"warn_after"`      // delay warning; default 4h
	Node           string   `toml:"node"`            // this node's name; default the host name
}

// Relay sends all outbound mail through a smarthost (Postfix's
// relayhost) instead of looking up MX records.
type Relay struct {
	Addr        string `toml:"addr"`         // host:port; empty: deliver directly
	ImplicitTLS bool   `toml:"implicit_tls"` // TLS from the start (port 465); else STARTTLS
	Username    string `toml:"username"`     // AUTH PLAIN, only over TLS
	Password    string `toml:"password"`     // never logged
	Insecure    bool   `toml:"insecure"`     // skip certificate checks (private relay)
}

// DNS selects the resolver for MX, SPF, DKIM, DMARC and MTA-STS lookups.
type DNS struct {
	Resolver string `toml:"resolver"` // host:port; empty: the system resolver
}

func (c *Config) validateOutbound(bad func(key, format string, args ...any) error) error {
	for _, d := range []struct {
		key string
		v   Duration
	}{{"queue.retry_min", c.Queue.RetryMin}, {"queue.retry_max", c.Queue.RetryMax}, {"queue.max_age", c.Queue.MaxAge}, {"queue.warn_after", c.Queue.WarnAfter}} {
		if d.v.Duration < 0 {
			return bad(d.key, "must not be negative")
		}
	}
	if c.Queue.MaxConnections < 0 {
		return bad("queue.max_connections", "must not be negative")
	}
	if c.Relay.Addr != "" {
		if _, p, err := net.SplitHostPort(c.Relay.Addr); err != nil || p == "" {
			return bad("relay.addr", "%q is not host:port", c.Relay.Addr)
		}
	}
	if c.Relay.Username != "" && c.Relay.Addr == "" {
		return bad("relay.username", "needs relay.addr")
	}
	for d, hp := range c.Routes {
		if d == "" || strings.ContainsAny(d, " @/") {
			return bad("routes", "%q is not a domain", d)
		}
		if _, p, err := net.SplitHostPort(hp); err != nil || p == "" {
			return bad("routes", "%s = %q is not host:port", d, hp)
		}
	}
	if c.DNS.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.DNS.Resolver); err != nil {
			return fmt.Errorf("dns.resolver: %q is not host:port", c.DNS.Resolver)
		}
	}
	return nil
}
