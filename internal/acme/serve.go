package acme

import (
	"crypto/tls"
	"errors"
	"time"
)

// servedSet is an immutable snapshot of the certificates in service,
// swapped whole, so that handshakes read it without locks.
type servedSet struct {
	byName map[string]*tls.Certificate
	host   *tls.Certificate // the hostname's: for clients without SNI
}

// publish rebuilds the snapshot from the entries.
func (m *Manager) publish() {
	s := &servedSet{byName: map[string]*tls.Certificate{}}
	host := normalizeName(m.o.Hostname)
	m.mu.Lock()
	for n, e := range m.entries {
		if e.cert != nil {
			s.byName[n] = e.cert
		}
	}
	m.mu.Unlock()
	s.host = s.byName[host]
	m.served.Store(s)
}

// TLSConfig returns the server config for every TLS listener (STARTTLS
// and implicit TLS alike): TLS 1.2 at least, certificates chosen by SNI,
// TLS-ALPN-01 challenges answered. Services may Clone it and set their
// own NextProtos.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetCertificate:     m.getCertificate,
		GetConfigForClient: m.alpnConfig,
	}
}

// getCertificate picks, in order: the ACME certificate of the SNI name;
// the fallback files if they cover the name; the hostname's ACME
// certificate (clients without SNI, which connect by hostname, and
// unknown names); the fallback. An expired certificate is never chosen
// over the fallback, nor one the client cannot use (such as ECDSA for a
// client that knows only RSA).
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := normalizeName(hello.ServerName)
	s := m.served.Load()
	var fb *tls.Certificate
	if m.o.Fallback != nil {
		fb = m.o.Fallback.Certificate()
	}
	now := time.Now()
	// SupportsCertificate also checks the SNI name; the hostname's
	// certificate is served for other names too, so ask without it.
	anyName := *hello
	anyName.ServerName = ""
	usable := func(c *tls.Certificate) bool {
		if c == nil || c.Leaf != nil && now.After(c.Leaf.NotAfter) {
			return false
		}
		return anyName.SupportsCertificate(c) == nil
	}
	if name != "" {
		if c := s.byName[name]; usable(c) {
			return c, nil
		}
		if fb != nil && fb.Leaf != nil && fb.Leaf.VerifyHostname(name) == nil && usable(fb) {
			return fb, nil
		}
	}
	if usable(s.host) {
		return s.host, nil
	}
	if fb != nil {
		return fb, nil
	}
	if s.host != nil {
		return s.host, nil
	}
	return nil, errors.New("acme: no certificate yet for " + name)
}
