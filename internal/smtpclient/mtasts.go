package smtpclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/dnsx"
)

// MTA-STS (RFC 8461): a domain publishes "_mta-sts.DOMAIN TXT v=STSv1;
// id=..." and a policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt;
// in enforce mode, mail goes only to the MX hosts it names, over TLS with
// a certificate valid for the host.

// Mode is a policy's mode.
type Mode string

// The policy modes (RFC 8461 §3.2).
const (
	ModeEnforce Mode = "enforce"
	ModeTesting Mode = "testing"
	ModeNone    Mode = "none"
)

// Policy is a parsed MTA-STS policy.
type Policy struct {
	Mode   Mode
	MX     []string // patterns: "mx.example.com" or "*.example.com"
	MaxAge time.Duration
}

// maxPolicyBytes bounds a policy body (RFC 8461 §3.3 suggests 64 KB).
const maxPolicyBytes = 64 << 10

// maxPolicyAge is the longest max_age honoured (RFC 8461 §3.2: 31557600).
const maxPolicyAge = 31557600 * time.Second

// ParsePolicy parses a policy body (RFC 8461 §3.2): "key: value" lines
// ending in CRLF or LF; unknown keys are ignored.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > maxPolicyBytes {
		return nil, errors.New("mta-sts: policy too large")
	}
	p := &Policy{}
	var version string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1024), maxPolicyBytes)
	seenAge := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts: malformed line %q", trunc(line))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			switch Mode(v) {
			case ModeEnforce, ModeTesting, ModeNone:
				p.Mode = Mode(v)
			default:
				return nil, fmt.Errorf("mta-sts: unknown mode %q", trunc(v))
			}
		case "max_age":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || len(v) > 10 {
				return nil, fmt.Errorf("mta-sts: bad max_age %q", trunc(v))
			}
			p.MaxAge = min(time.Duration(n)*time.Second, maxPolicyAge)
			seenAge = true
		case "mx":
			if !validPattern(v) {
				return nil, fmt.Errorf("mta-sts: bad mx pattern %q", trunc(v))
			}
			if len(p.MX) < 100 {
				p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mta-sts: %w", err)
	}
	if version != "STSv1" {
		return nil, errors.New("mta-sts: version is not STSv1")
	}
	if p.Mode == "" || !seenAge {
		return nil, errors.New("mta-sts: mode and max_age are required")
	}
	if p.Mode != ModeNone && len(p.MX) == 0 {
		return nil, errors.New("mta-sts: no mx")
	}
	return p, nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// validPattern accepts a host name, optionally starting with "*.".
func validPattern(p string) bool {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "*."), ".")
	if p == "" || len(p) > 253 {
		return false
	}
	for _, label := range strings.Split(p, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Match reports whether an MX host is allowed by the policy (RFC 8461
// §4.1: a wildcard matches exactly one leftmost label).
func (p *Policy) Match(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if _, after, found := strings.Cut(host, "."); found && after == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// MTASTSOptions configure policy fetching.
type MTASTSOptions struct {
	Resolver dnsx.Resolver
	// HTTPClient fetches policies; nil means one that verifies
	// certificates with the system roots, follows no redirect (RFC 8461
	// §3.3) and times out after a minute.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// MTASTS fetches policies and caches them for their max_age (in memory:
// after a restart they are fetched again).
type MTASTS struct {
	o     MTASTSOptions
	mu    sync.Mutex
	cache map[string]cachedPolicy
}

type cachedPolicy struct {
	id      string
	policy  *Policy
	expires time.Time
}

// maxCachedPolicies bounds the cache.
const maxCachedPolicies = 10000

// NewMTASTS returns a policy cache.
func NewMTASTS(o MTASTSOptions) *MTASTS {
	if o.Resolver == nil {
		o.Resolver = dnsx.System()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout:       time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MTASTS{o: o, cache: map[string]cachedPolicy{}}
}

// Get returns the domain's policy, or nil when it has none (or none
// could be fetched and none is cached: RFC 8461 §5 fails open).
func (m *MTASTS) Get(ctx context.Context, domain string) *Policy {
	now := m.o.Now()
	m.mu.Lock()
	c, cached := m.cache[domain]
	m.mu.Unlock()
	if cached && now.After(c.expires) {
		cached = false
	}
	id, err := m.lookupID(ctx, domain)
	if err != nil {
		if cached {
			return c.policy // RFC 8461 §5.1: keep using a cached policy
		}
		return nil
	}
	if cached && c.id == id {
		return c.policy
	}
	p, err := m.fetch(ctx, domain)
	if err != nil {
		m.o.Logger.Info("mta-sts: policy fetch failed", "domain", domain, "err", err)
		if cached {
			return c.policy
		}
		return nil
	}
	m.mu.Lock()
	if len(m.cache) >= maxCachedPolicies {
		for k, v := range m.cache {
			if now.After(v.expires) {
				delete(m.cache, k)
			}
		}
		if len(m.cache) >= maxCachedPolicies {
			clear(m.cache)
		}
	}
	m.cache[domain] = cachedPolicy{id: id, policy: p, expires: now.Add(p.MaxAge)}
	m.mu.Unlock()
	return p
}

// lookupID reads the _mta-sts TXT record's id (RFC 8461 §3.1).
func (m *MTASTS) lookupID(ctx context.Context, domain string) (string, error) {
	txts, err := m.o.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var found []string
	for _, t := range txts {
		if id, ok := parseSTSRecord(t); ok {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("mta-sts: %d STSv1 records", len(found))
	}
	return found[0], nil
}

// parseSTSRecord parses "v=STSv1; id=20160831085700Z;".
func parseSTSRecord(t string) (string, bool) {
	fields := strings.Split(t, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", false
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" && v != "" && len(v) <= 32 {
			return v, true
		}
	}
	return "", false
}

func (m *MTASTS) fetch(ctx context.Context, domain string) (*Policy, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://mta-sts."+domain+"/.well-known/mta-sts.txt", nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.o.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mta-sts: HTTP %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/plain") {
		return nil, fmt.Errorf("mta-sts: content type %q is not text/plain", trunc(ct))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicyBytes+1))
	if err != nil {
		return nil, err
	}
	return ParsePolicy(b)
}
