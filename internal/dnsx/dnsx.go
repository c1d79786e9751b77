// Package dnsx is the DNS seam of outbound mail and of the inbound
// checks: a small Resolver interface that *net.Resolver satisfies, the
// system resolver, and a resolver that sends every query to one server
// (a local validating resolver in production, the loopback test server
// of dnsx/dnstest in tests).
//
// Cache keeps TXT and MX answers for their TTL (inbound SPF and DMARC
// ask the same few names for every message); Via and System do not
// cache. Nothing here validates DNSSEC.
package dnsx

import (
	"context"
	"errors"
	"net"
	"time"
)

// Resolver answers the lookups mail needs. *net.Resolver implements it,
// and so does blitiri.com.ar/go/spf's DNSResolver.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// System returns the system's resolver.
func System() Resolver { return net.DefaultResolver }

// queryTimeout bounds one exchange with the server of Via.
const queryTimeout = 5 * time.Second

// Via returns a resolver that sends every query to server (host:port),
// over UDP or TCP as the Go resolver chooses.
func Via(server string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: queryTimeout}
			return d.DialContext(ctx, network, server)
		},
	}
}

// IsNotFound reports whether err says the name or the record type does
// not exist (NXDOMAIN or an empty answer), as opposed to a failure to
// find out.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether a lookup failed in a way worth retrying:
// a time-out or a server failure, not an answer.
func IsTemporary(err error) bool {
	if err == nil || IsNotFound(err) {
		return false
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsTimeout || de.IsTemporary || !de.IsNotFound
	}
	return true
}
