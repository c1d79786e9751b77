// Package smtpclient sends mail to the next hop: it finds where a
// domain's mail goes (a smarthost, a static route, or the domain's MX
// hosts with the implicit MX of RFC 5321 §5.1 and the null MX of RFC
// 7505), connects, upgrades to TLS when it can (opportunistic STARTTLS,
// RFC 7435) or must (MTA-STS enforce, RFC 8461; a smarthost), and runs
// mail transactions on one connection for several messages, with
// 8BITMIME, SMTPUTF8, SIZE and ENHANCEDSTATUSCODES.
//
// The protocol code is ours (conn.go) rather than go-smtp's client:
// that one says EHLO as "localhost" before STARTTLS and has no
// opportunistic-TLS fallback, both of which an MTA needs.
//
// What it does not do: DANE (TLSA) verification, PIPELINING, CHUNKING,
// REQUIRETLS and DSN parameters towards the next hop. Retries and
// bounces are internal/queue's.
package smtpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"mailhouse/internal/dnsx"
)

// Options configure a Dialer.
type Options struct {
	// Hostname is our name in EHLO; it should be the name of our IP's PTR.
	Hostname string
	// Resolver looks up MX and addresses; nil means the system's.
	Resolver dnsx.Resolver
	// Relay, when set, takes all outbound mail (Postfix's relayhost).
	Relay *Relay
	// Routes send a domain's mail to a fixed host:port instead of its MX
	// (Postfix's transport map). Keys are lower-case A-label domains.
	Routes map[string]string
	// Port is the port of MX hosts; 0 means 25 (tests change it).
	Port int
	// RootCAs verify certificates (MTA-STS, relay); nil means the system's.
	RootCAs *x509.CertPool
	// MTASTS fetches and caches policies; nil turns MTA-STS off.
	MTASTS *MTASTS
	// Time-outs (RFC 5321 §4.5.3.2): connect 30s, command 5m, data 10m.
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	DataTimeout    time.Duration
	// MaxHosts bounds the MX hosts and addresses tried per connection.
	MaxHosts int
	Logger   *slog.Logger
	// Dial opens TCP connections; nil uses net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Relay is a smarthost.
type Relay struct {
	Addr string // host:port
	// ImplicitTLS: TLS from the start (port 465); else STARTTLS, which is
	// required whenever a password is sent.
	ImplicitTLS bool
	// Username and Password log in with AUTH PLAIN (only over TLS).
	Username string
	Password string
	// Insecure skips certificate verification (a relay on a private
	// network with a self-signed certificate).
	Insecure bool
}

// Defaults for zero Options fields.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultCommandTimeout = 5 * time.Minute
	DefaultDataTimeout    = 10 * time.Minute
	DefaultMaxHosts       = 10
)

// Dialer connects to next hops. It is safe for concurrent use.
type Dialer struct {
	o   Options
	log *slog.Logger
}

// New returns a Dialer.
func New(o Options) *Dialer {
	if o.Resolver == nil {
		o.Resolver = dnsx.System()
	}
	if o.Port == 0 {
		o.Port = 25
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = DefaultDataTimeout
	}
	if o.MaxHosts <= 0 {
		o.MaxHosts = DefaultMaxHosts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: o.ConnectTimeout}
		o.Dial = d.DialContext
	}
	return &Dialer{o: o, log: o.Logger}
}

// Destination names where a domain's mail goes: "relay", "route:host:port"
// or "mx:domain". Mail with the same destination may share a connection.
func (d *Dialer) Destination(domain string) string {
	domain = strings.ToLower(domain)
	if d.o.Relay != nil {
		return "relay"
	}
	if r, ok := d.o.Routes[domain]; ok {
		return "route:" + r
	}
	return "mx:" + domain
}

// hostAddr is one server to try.
type hostAddr struct {
	host string // name (for TLS and logs)
	addr string // host:port or ip:port to dial
}

// Dial connects to the destination of domain (see Destination) and
// returns a connection ready for Send. Failures are *Error.
func (d *Dialer) Dial(ctx context.Context, domain string) (*Conn, error) {
	domain = strings.ToLower(domain)
	if d.o.Relay != nil {
		c, err := d.dialRelay(ctx)
		if err != nil {
			return nil, err
		}
		return release(c), nil
	}
	if r, ok := d.o.Routes[domain]; ok {
		host, _, err := net.SplitHostPort(r)
		if err == nil {
			c, err := d.dialHosts(ctx, []hostAddr{{host: host, addr: r}}, nil)
			if err != nil {
				return nil, err
			}
			return release(c), nil
		}
		return nil, &Error{Enhanced: "4.3.5", Message: fmt.Sprintf("route for %s: %q is not host:port", domain, r), Temporary: true}
	}
	c, err := d.dialMX(ctx, domain)
	if err != nil {
		return nil, err
	}
	return release(c), nil
}

// dialMX finds and tries the domain's MX hosts in preference order.
func (d *Dialer) dialMX(ctx context.Context, domain string) (*Conn, error) {
	var policy *Policy
	if d.o.MTASTS != nil {
		policy = d.o.MTASTS.Get(ctx, domain)
	}
	hosts, err := d.mxHosts(ctx, domain)
	if err != nil {
		return nil, err
	}
	if policy != nil && policy.Mode == ModeEnforce {
		// RFC 8461 §4.1: only MX hosts the policy names are candidates.
		var ok []string
		for _, h := range hosts {
			if policy.Match(h) {
				ok = append(ok, h)
			}
		}
		if len(ok) == 0 {
			return nil, &Error{Enhanced: "4.7.5", Message: "no MX host of " + domain + " matches its MTA-STS policy", Temporary: true, TLSFailure: true}
		}
		hosts = ok
	}
	var cands []hostAddr
	var lastErr error
	for _, h := range hosts {
		ips, err := d.o.Resolver.LookupIPAddr(ctx, h)
		if err != nil {
			lastErr = &Error{Enhanced: "4.4.3", Message: fmt.Sprintf("address of MX host %s: %v", h, err), Temporary: true}
			continue
		}
		for _, ip := range ips {
			cands = append(cands, hostAddr{host: h, addr: net.JoinHostPort(ip.IP.String(), strconv.Itoa(d.o.Port))})
		}
	}
	if len(cands) == 0 {
		if lastErr == nil {
			lastErr = &Error{Enhanced: "4.4.4", Message: "no address for the mail hosts of " + domain, Temporary: true}
		}
		return nil, lastErr
	}
	return d.dialHosts(ctx, cands, policy)
}

// mxHosts returns the hosts to try for a domain (RFC 5321 §5.1).
func (d *Dialer) mxHosts(ctx context.Context, domain string) ([]string, error) {
	mxs, err := d.o.Resolver.LookupMX(ctx, domain)
	if err != nil && !dnsx.IsNotFound(err) {
		return nil, &Error{Enhanced: "4.4.3", Message: fmt.Sprintf("MX lookup for %s: %v", domain, err), Temporary: true}
	}
	if len(mxs) == 1 && mxs[0].Host == "." {
		// RFC 7505 §4.2: a null MX says the domain accepts no mail.
		return nil, &Error{Code: 556, Enhanced: "5.1.10", Message: domain + " accepts no mail (null MX)"}
	}
	var hosts []string
	for _, mx := range mxs {
		if h := strings.TrimSuffix(mx.Host, "."); h != "" && len(hosts) < d.o.MaxHosts {
			hosts = append(hosts, strings.ToLower(h))
		}
	}
	if len(hosts) > 0 {
		return hosts, nil
	}
	// No MX: the domain itself is the implicit MX, if it has an address.
	ips, err := d.o.Resolver.LookupIPAddr(ctx, domain)
	if err != nil || len(ips) == 0 {
		if err == nil || dnsx.IsNotFound(err) {
			return nil, &Error{Code: 550, Enhanced: "5.1.2", Message: "domain " + domain + " has no mail server (no MX, A or AAAA record)"}
		}
		return nil, &Error{Enhanced: "4.4.3", Message: fmt.Sprintf("address lookup for %s: %v", domain, err), Temporary: true}
	}
	return []string{domain}, nil
}

// dialHosts tries each candidate in turn until one greets us.
func (d *Dialer) dialHosts(ctx context.Context, cands []hostAddr, policy *Policy) (*Conn, error) {
	var lastErr error
	if len(cands) > d.o.MaxHosts {
		cands = cands[:d.o.MaxHosts]
	}
	enforce := policy != nil && policy.Mode == ModeEnforce
	for _, h := range cands {
		if err := ctx.Err(); err != nil {
			return nil, &Error{Enhanced: "4.4.7", Message: "delivery interrupted", Temporary: true}
		}
		c, err := d.connect(ctx, h, enforce)
		if err == nil {
			return c, nil
		}
		var e *Error
		if errors.As(err, &e) && e.TLSFailure && !enforce {
			// RFC 7435: opportunistic TLS that fails falls back to
			// plaintext rather than not delivering.
			d.log.Info("smtpclient: TLS failed, retrying without", "host", h.host, "err", err)
			if c, err2 := d.connectPlain(ctx, h); err2 == nil {
				return c, nil
			}
		}
		d.log.Info("smtpclient: host failed", "host", h.host, "addr", h.addr, "err", err)
		lastErr = err
	}
	return nil, lastErr
}

func (d *Dialer) tcp(ctx context.Context, h hostAddr) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, d.o.ConnectTimeout)
	defer cancel()
	nc, err := d.o.Dial(cctx, "tcp", h.addr)
	if err != nil {
		return nil, &Error{Enhanced: "4.4.1", Message: fmt.Sprintf("connecting to %s (%s): %v", h.host, h.addr, err), Host: h.host, Temporary: true}
	}
	// Until Dial returns, the caller's ctx ends a greeting or TLS
	// handshake that hangs; Send takes over from there.
	return &ctxConn{Conn: nc, stop: context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })}, nil
}

// connect opens a connection and upgrades it with STARTTLS when offered
// (required and verified when enforce).
func (d *Dialer) connect(ctx context.Context, h hostAddr, enforce bool) (*Conn, error) {
	nc, err := d.tcp(ctx, h)
	if err != nil {
		return nil, err
	}
	c, err := newConn(nc, &d.o, h.host, h.addr)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if !c.Has("STARTTLS") {
		if enforce {
			c.Close()
			return nil, &Error{Enhanced: "4.7.5", Message: h.host + " does not offer STARTTLS, which the MTA-STS policy requires", Host: h.host, Temporary: true, TLSFailure: true}
		}
		return c, nil
	}
	cfg := &tls.Config{ServerName: h.host, RootCAs: d.o.RootCAs, MinVersion: tls.VersionTLS12}
	if !enforce {
		// Opportunistic: encrypt, but a certificate we cannot verify is
		// better than plaintext (RFC 7435 §1.3).
		cfg.InsecureSkipVerify = true
	}
	if err := c.startTLS(cfg); err != nil {
		c.broken = true
		c.Close()
		return nil, err
	}
	if enforce {
		c.Verified = true
	}
	return c, nil
}

// connectPlain connects without TLS (after a failed opportunistic
// handshake).
func (d *Dialer) connectPlain(ctx context.Context, h hostAddr) (*Conn, error) {
	nc, err := d.tcp(ctx, h)
	if err != nil {
		return nil, err
	}
	c, err := newConn(nc, &d.o, h.host, h.addr)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// dialRelay connects to the smarthost: TLS is required (and verified
// unless Insecure) whenever there is a password to send.
func (d *Dialer) dialRelay(ctx context.Context) (*Conn, error) {
	r := d.o.Relay
	host, _, err := net.SplitHostPort(r.Addr)
	if err != nil {
		return nil, &Error{Enhanced: "4.3.5", Message: fmt.Sprintf("relay %q is not host:port", r.Addr), Temporary: true}
	}
	h := hostAddr{host: host, addr: r.Addr}
	cfg := &tls.Config{ServerName: host, RootCAs: d.o.RootCAs, MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.Insecure}
	var c *Conn
	if r.ImplicitTLS {
		nc, err := d.tcp(ctx, h)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(nc, cfg)
		_ = tc.SetDeadline(time.Now().Add(d.o.CommandTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &Error{Enhanced: "4.7.5", Message: "TLS with relay " + host + ": " + err.Error(), Host: host, Temporary: true, TLSFailure: true}
		}
		_ = tc.SetDeadline(time.Time{})
		if c, err = newConn(tc, &d.o, host, r.Addr); err != nil {
			tc.Close()
			return nil, err
		}
		st := tc.ConnectionState()
		c.TLS, c.Verified = &st, !r.Insecure
	} else {
		nc, err := d.tcp(ctx, h)
		if err != nil {
			return nil, err
		}
		if c, err = newConn(nc, &d.o, host, r.Addr); err != nil {
			nc.Close()
			return nil, err
		}
		if c.Has("STARTTLS") {
			if err := c.startTLS(cfg); err != nil {
				c.Close()
				return nil, err
			}
		} else if r.Username != "" {
			c.Close()
			return nil, &Error{Enhanced: "4.7.5", Message: "relay " + host + " does not offer STARTTLS; not sending the password in clear", Host: host, Temporary: true, TLSFailure: true}
		}
	}
	if r.Username != "" {
		if err := c.auth(r.Username, r.Password); err != nil {
			c.Close()
			var e *Error
			if errors.As(err, &e) {
				// A refused login is our configuration's fault: keep the
				// mail and retry, rather than bounce it.
				e.Temporary = true
			}
			return nil, err
		}
	}
	return c, nil
}

// ctxConn is a connection whose deadline ctx's end sets while dialing.
type ctxConn struct {
	net.Conn
	stop func() bool
}

// release detaches the connection from the dialing context.
func release(c *Conn) *Conn {
	for nc := c.nc; nc != nil; {
		switch t := nc.(type) {
		case *ctxConn:
			t.stop()
			return c
		case interface{ NetConn() net.Conn }:
			nc = t.NetConn()
		default:
			return c
		}
	}
	return c
}
