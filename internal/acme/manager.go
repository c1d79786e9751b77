package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	acmeapi "golang.org/x/crypto/acme"

	"mailhouse/internal/config"
	"mailhouse/internal/netx"
)

// Defaults of the Options durations.
const (
	// DefaultRenewBefore: certificates are renewed this long before they
	// expire (Let's Encrypt's advice for 90-day certificates).
	DefaultRenewBefore = 30 * 24 * time.Hour
	// DefaultRetryMin and DefaultRetryMax bound the back-off after a
	// failed attempt: 2m, 4m, 8m, … 12h. Let's Encrypt allows 5 failed
	// validations per name and hour.
	DefaultRetryMin = 2 * time.Minute
	DefaultRetryMax = 12 * time.Hour
	// DefaultCheckInterval is how often the list of names is read again
	// (a domain added by the CLI in another process is seen this late at
	// most; SIGHUP, i.e. Reload, makes it immediate).
	DefaultCheckInterval = 5 * time.Minute
	// DefaultIssueTimeout bounds one name's whole issuance.
	DefaultIssueTimeout = 5 * time.Minute
	// acmeHTTPTimeout bounds one request to the CA.
	acmeHTTPTimeout = time.Minute
)

// Options configure a Manager. FromConfig fills them from the config
// file; the app adds Fallback and Logger.
type Options struct {
	// Hostname is always managed, and its certificate is served to
	// clients that send no SNI (many SMTP and POP3 clients).
	Hostname string
	// Names are extra names (config acme_names).
	Names []string
	// DomainPrefixes are put before each hosted domain (config
	// acme_domain_prefixes).
	DomainPrefixes []string
	// Domains lists the hosted domains; nil means none.
	Domains DomainLister

	// DirectoryURL is the CA (default Let's Encrypt production); Email the
	// account contact (optional); CAFile a PEM file of extra roots
	// trusted for the CA's HTTPS (tests).
	DirectoryURL string
	Email        string
	CAFile       string
	// CacheDir holds the state (config: data_dir/acme); required.
	CacheDir string

	// HTTP01 and TLSALPN01 say which challenges the listeners answer:
	// HTTP01 when a plain HTTP listener mounts HTTPHandler (port 80),
	// TLSALPN01 when an HTTPS listener serves TLSConfig (port 443). At
	// least one is required. TLS-ALPN-01 is tried first.
	HTTP01, TLSALPN01 bool

	// Fallback serves names without an ACME certificate and clients
	// without SNI until the hostname has one; nil: none (such handshakes
	// fail).
	Fallback *netx.CertStore
	Logger   *slog.Logger

	// Zero values take the Default constants.
	RenewBefore   time.Duration
	RetryMin      time.Duration
	RetryMax      time.Duration
	CheckInterval time.Duration
	IssueTimeout  time.Duration
}

// FromConfig returns the Options the config file asks for; domains lists
// the hosted domains (the store).
func FromConfig(cfg *config.Config, domains DomainLister) Options {
	t := cfg.TLS
	return Options{
		Hostname: cfg.Hostname, Names: t.ACMENames, DomainPrefixes: t.ACMEDomainPrefixes, Domains: domains,
		DirectoryURL: t.ACMEDirectory, Email: t.ACMEEmail, CAFile: cfg.Path(t.ACMECAFile),
		CacheDir:  cfg.DataPath("acme"),
		HTTP01:    len(cfg.Listen.HTTP) > 0,
		TLSALPN01: len(cfg.Listen.HTTPS) > 0,
	}
}

func (o *Options) applyDefaults() {
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.RenewBefore, DefaultRenewBefore)
	def(&o.RetryMin, DefaultRetryMin)
	def(&o.RetryMax, DefaultRetryMax)
	def(&o.CheckInterval, DefaultCheckInterval)
	def(&o.IssueTimeout, DefaultIssueTimeout)
	if o.DirectoryURL == "" {
		o.DirectoryURL = config.DefaultACMEDirectory
	}
	if o.DomainPrefixes == nil {
		o.DomainPrefixes = config.DefaultACMEDomainPrefixes()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager obtains, renews and serves the certificates. Create it with
// New, serve TLSConfig on every TLS listener and HTTPHandler on plain
// HTTP, then Start it; Stop ends the background work.
type Manager struct {
	o    Options
	log  *slog.Logger
	dir  string // state of this CA directory
	http *http.Client

	served atomic.Pointer[servedSet]

	mu      sync.Mutex // guards entries
	entries map[string]*entry

	chal *challenges

	issueMu sync.Mutex // one issuance round at a time; guards client
	client  *acmeapi.Client

	wake    chan struct{}
	runMu   sync.Mutex // guards cancel and done
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

// entry is one managed name.
type entry struct {
	cert   *tls.Certificate // in service; nil when none; Leaf is set
	status NameStatus       // the persisted part (no certificate fields)
}

// New loads the cached certificates and state; nothing talks to the CA
// until Start (or Check, Renew).
func New(o Options) (*Manager, error) {
	o.applyDefaults()
	if o.CacheDir == "" {
		return nil, errors.New("acme: CacheDir is required")
	}
	if !o.HTTP01 && !o.TLSALPN01 {
		return nil, errors.New("acme: no challenge can be answered: listen on https (TLS-ALPN-01) or http (HTTP-01)")
	}
	pool, err := rootPool(o.CAFile)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		o: o, log: o.Logger.With("part", "acme"),
		dir:     o.StateDir(),
		entries: map[string]*entry{},
		wake:    make(chan struct{}, 1),
		chal:    newChallenges(),
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	m.http = &http.Client{Transport: tr, Timeout: acmeHTTPTimeout}
	if err := os.MkdirAll(filepath.Join(m.dir, "certs"), 0o700); err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	st, err := readState(m.dir)
	if err != nil {
		m.log.Warn("ACME state unreadable; starting afresh", "err", err)
	}
	for _, s := range st.Names {
		e := &entry{status: s}
		e.cert = m.loadCert(s.Name)
		m.entries[s.Name] = e
	}
	m.publish()
	return m, nil
}

// rootPool is the system roots plus those of caFile.
func rootPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("acme: tls.acme_ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("acme: tls.acme_ca_file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// Start runs issuance and renewal in the background until Stop.
func (m *Manager) Start() {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.started {
		return
	}
	m.started = true
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go m.run(ctx, m.done)
}

// Stop ends the background work, abandoning an issuance in progress
// (the CA keeps nothing half-done that matters: the next order starts
// over). Certificates keep being served.
func (m *Manager) Stop(ctx context.Context) error {
	m.runMu.Lock()
	cancel, done := m.cancel, m.done
	m.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reload reads the fallback certificate files again (SIGHUP) and makes
// the background loop read the names now, so a domain just added gets
// its certificates. An error concerns the fallback files only; the old
// fallback stays.
func (m *Manager) Reload() error {
	m.poke()
	if m.o.Fallback == nil {
		return nil
	}
	return m.o.Fallback.Reload()
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		_ = m.Check(ctx) // failures are logged and recorded per name
		t := time.NewTimer(m.nextWake())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-m.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// nextWake is how long the loop sleeps: until the first name is due, and
// no longer than CheckInterval.
func (m *Manager) nextWake() time.Duration {
	d := m.o.CheckInterval
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if w := m.dueAt(e).Sub(now); w < d {
			d = w
		}
	}
	return max(d, time.Second)
}

// Check reads the list of names again and obtains or renews every
// certificate that is due, one name after the other; it returns the
// failures of this round. The background loop calls it; tests and tools
// may too.
func (m *Manager) Check(ctx context.Context) error {
	return m.round(ctx, nil)
}

// Renew obtains new certificates now for the given names (every managed
// name when none is given), due or not. On failure the certificate in
// service stays, and the name backs off as after any failure.
func (m *Manager) Renew(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = m.ManagedNames()
	}
	force := map[string]bool{}
	for _, n := range names {
		force[normalizeName(n)] = true
	}
	return m.round(ctx, force)
}

// round is Check (force nil) or Renew.
func (m *Manager) round(ctx context.Context, force map[string]bool) error {
	m.issueMu.Lock()
	defer m.issueMu.Unlock()
	if names, err := m.o.WantedNames(ctx); err != nil {
		m.log.Error("listing the names to certify; keeping the previous list", "err", err)
	} else {
		m.setNames(names)
	}
	var errs []error
	for n := range force {
		if !m.managed(n) {
			errs = append(errs, fmt.Errorf("acme: %s is not a managed name", n))
		}
	}
	now := time.Now()
	for _, name := range m.ManagedNames() {
		if ctx.Err() != nil {
			break
		}
		if !force[name] && m.due(name).After(now) {
			continue
		}
		if err := m.issue(ctx, name); err != nil {
			errs = append(errs, err)
		}
		// After each name, so that a crash keeps the back-off.
		if err := m.saveState(); err != nil {
			m.log.Error("saving ACME state", "err", err)
		}
	}
	return errors.Join(errs...)
}

// setNames makes names the managed set: new names start with their
// cached certificate, if any; names no longer wanted are dropped.
func (m *Manager) setNames(names []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	m.mu.Lock()
	changed := false
	for n := range m.entries {
		if !want[n] {
			delete(m.entries, n)
			changed = true
			m.log.Info("name no longer managed", "name", n)
		}
	}
	for _, n := range names {
		if m.entries[n] == nil {
			m.entries[n] = &entry{status: NameStatus{Name: n}, cert: m.loadCert(n)}
			changed = true
		}
	}
	m.mu.Unlock()
	if changed {
		m.publish()
	}
}

func (m *Manager) managed(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[name] != nil
}

func (m *Manager) due(name string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[name]; e != nil {
		return m.dueAt(e)
	}
	return time.Time{}
}

// dueAt is when the name's next attempt is: at once without a
// certificate, at the renewal time with one, never before the back-off
// after a failure ends.
func (m *Manager) dueAt(e *entry) time.Time {
	at := time.Time{}
	if e.cert != nil {
		at = RenewAt(e.cert.Leaf, m.o.RenewBefore)
	}
	if e.status.NextAttempt.After(at) {
		at = e.status.NextAttempt
	}
	return at
}

// ManagedNames lists the managed names, the hostname first.
func (m *Manager) ManagedNames() []string {
	m.mu.Lock()
	names := make([]string, 0, len(m.entries))
	for n := range m.entries {
		names = append(names, n)
	}
	m.mu.Unlock()
	return sortNames(names, normalizeName(m.o.Hostname))
}
