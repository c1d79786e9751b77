package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"time"
)

// NameStatus is what is known about one managed name.
type NameStatus struct {
	Name string `json:"name"`
	// The ACME history (status.json).
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"` // of the last attempt; "" after a success
	Failures    int       `json:"failures,omitempty"`   // in a row
	NextAttempt time.Time `json:"next_attempt,omitzero"`

	// The certificate in service; zero when there is none.
	Issuer    string    `json:"-"`
	Serial    string    `json:"-"` // hexadecimal
	NotBefore time.Time `json:"-"`
	NotAfter  time.Time `json:"-"`
	RenewAt   time.Time `json:"-"`
}

// HasCert reports whether the name has an ACME certificate.
func (s NameStatus) HasCert() bool { return !s.NotAfter.IsZero() }

func (s *NameStatus) setCert(c *tls.Certificate, renewBefore time.Duration) {
	if c == nil || c.Leaf == nil {
		return
	}
	s.Issuer = issuerName(c.Leaf)
	s.Serial = c.Leaf.SerialNumber.Text(16)
	s.NotBefore, s.NotAfter = c.Leaf.NotBefore, c.Leaf.NotAfter
	s.RenewAt = RenewAt(c.Leaf, renewBefore)
}

// Status returns every managed name's state, the hostname first.
func (m *Manager) Status() []NameStatus {
	var out []NameStatus
	for _, n := range m.ManagedNames() {
		m.mu.Lock()
		if e := m.entries[n]; e != nil {
			s := e.status
			s.setCert(e.cert, m.o.RenewBefore)
			out = append(out, s)
		}
		m.mu.Unlock()
	}
	return out
}

// Report is the state a server left in the data folder, for `mailhouse
// tls status` in another process.
type Report struct {
	Directory string
	// Updated is when a server last wrote the state; zero if none has.
	Updated time.Time
	Names   []NameStatus
}

// ReadStatus reads the state of o's CA from o.CacheDir: every name a
// server manages, or would manage now (o.WantedNames, when o.Domains is
// set), with its certificate and last error.
func ReadStatus(ctx context.Context, o Options) (Report, error) {
	o.applyDefaults()
	dir := o.StateDir()
	st, err := readState(dir)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Directory: o.DirectoryURL, Updated: st.Updated}
	byName := map[string]NameStatus{}
	var names []string
	for _, s := range st.Names {
		if _, dup := byName[s.Name]; !dup {
			names = append(names, s.Name)
		}
		byName[s.Name] = s
	}
	wanted, err := o.WantedNames(ctx)
	if err != nil {
		return Report{}, err
	}
	for _, n := range wanted {
		if _, ok := byName[n]; !ok {
			byName[n] = NameStatus{Name: n}
			names = append(names, n)
		}
	}
	for _, n := range sortNames(names, normalizeName(o.Hostname)) {
		s := byName[n]
		if c, err := readCert(dir, n); err == nil {
			s.setCert(c, o.RenewBefore)
		}
		rep.Names = append(rep.Names, s)
	}
	return rep, nil
}

// issuerName is a certificate issuer as people know it, such as "Let's
// Encrypt E5".
func issuerName(c *x509.Certificate) string {
	cn := c.Issuer.CommonName
	if len(c.Issuer.Organization) > 0 {
		org := c.Issuer.Organization[0]
		if cn == "" {
			return org
		}
		if !strings.Contains(cn, org) {
			return org + " " + cn
		}
	}
	return cn
}

// RenewAt is when a certificate is renewed: before its expiry by
// renewBefore (DefaultRenewBefore when zero), or by a third of its
// lifetime when that is shorter, so that short-lived certificates (six
// days, say) are not renewed the moment they arrive.
func RenewAt(leaf *x509.Certificate, renewBefore time.Duration) time.Time {
	if renewBefore <= 0 {
		renewBefore = DefaultRenewBefore
	}
	if third := leaf.NotAfter.Sub(leaf.NotBefore) / 3; third < renewBefore {
		renewBefore = third
	}
	return leaf.NotAfter.Add(-renewBefore)
}

// backoff is the wait after the n-th failure in a row: lo, 2·lo, 4·lo, …
// at most hi.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
