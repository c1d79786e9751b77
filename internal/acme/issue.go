package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"strings"
	"time"

	acmeapi "golang.org/x/crypto/acme"
)

// Challenge types (RFC 8555 §8.3, RFC 8737 §3).
const (
	typeTLSALPN01 = "tls-alpn-01"
	typeHTTP01    = "http-01"
)

// issue obtains a certificate for name and records the outcome: on
// success the new certificate goes into service at once (new handshakes
// get it; established connections keep theirs); on failure the old one
// stays and the name backs off.
func (m *Manager) issue(ctx context.Context, name string) error {
	ictx, cancel := context.WithTimeout(ctx, m.o.IssueTimeout)
	defer cancel()
	start := time.Now()
	m.log.Info("requesting certificate", "name", name)
	cert, err := m.obtain(ictx, name)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopping: not the name's failure
	}
	if err == nil {
		if serr := m.saveCert(name, cert); serr != nil {
			// Serve it anyway; after a restart it is obtained again.
			m.log.Error("caching certificate", "name", name, "err", serr)
		}
	}
	m.mu.Lock()
	e := m.entries[name]
	if e == nil { // dropped meanwhile
		m.mu.Unlock()
		return err
	}
	s := &e.status
	s.LastAttempt = start
	if err != nil {
		s.Failures++
		s.LastError = oneLine(err)
		delay := backoff(s.Failures, m.o.RetryMin, m.o.RetryMax)
		if d, ok := rateLimited(err); ok && d > delay {
			delay = d
		}
		s.NextAttempt = time.Now().Add(delay)
		attrs := []any{"name", name, "err", s.LastError, "failures", s.Failures, "retry_in", delay.Round(time.Second).String()}
		if e.cert != nil {
			attrs = append(attrs, "serving_until", e.cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
			m.log.Warn("certificate not obtained; the previous one stays in service", attrs...)
		} else {
			m.log.Warn("certificate not obtained; serving the fallback for this name", attrs...)
		}
		m.mu.Unlock()
		return fmt.Errorf("acme: %s: %w", name, err)
	}
	e.cert = cert
	s.Failures, s.LastError, s.NextAttempt, s.LastSuccess = 0, "", time.Time{}, time.Now()
	m.mu.Unlock()
	m.publish()
	m.log.Info("certificate obtained", "name", name, "issuer", issuerName(cert.Leaf),
		"not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339), "serial", cert.Leaf.SerialNumber.Text(16))
	return nil
}

// obtain runs one ACME order for name, trying each enabled challenge
// type in turn (a failed authorization ends its order, so each try is a
// new order).
func (m *Manager) obtain(ctx context.Context, name string) (*tls.Certificate, error) {
	client, err := m.acmeClient(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, typ := range m.challengeTypes() {
		order, err := client.AuthorizeOrder(ctx, acmeapi.DomainIDs(name))
		if err != nil {
			return nil, fmt.Errorf("new order: %w", err)
		}
		if err := m.authorize(ctx, client, order, typ); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", typ, err))
			if ctx.Err() != nil {
				break
			}
			m.log.Info("challenge failed", "name", name, "type", typ, "err", oneLine(err))
			continue
		}
		return m.finalize(ctx, client, order, name)
	}
	return nil, errors.Join(errs...)
}

func (m *Manager) challengeTypes() []string {
	var t []string
	if m.o.TLSALPN01 {
		t = append(t, typeTLSALPN01)
	}
	if m.o.HTTP01 {
		t = append(t, typeHTTP01)
	}
	return t
}

// acmeClient returns the client of the account, registering it (or
// finding it again by its key) on first use.
func (m *Manager) acmeClient(ctx context.Context) (*acmeapi.Client, error) {
	if m.client != nil {
		return m.client, nil
	}
	key, err := m.accountKey()
	if err != nil {
		return nil, err
	}
	c := &acmeapi.Client{Key: key, DirectoryURL: m.o.DirectoryURL, HTTPClient: m.http, UserAgent: "mailhouse"}
	acct := &acmeapi.Account{}
	if m.o.Email != "" {
		acct.Contact = []string{"mailto:" + m.o.Email}
	}
	// Enabling ACME in the config accepts the CA's terms of service.
	if _, err := c.Register(ctx, acct, acmeapi.AcceptTOS); err != nil && !errors.Is(err, acmeapi.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("registering the ACME account at %s: %w", m.o.DirectoryURL, err)
	}
	m.client = c
	return c, nil
}

// authorize answers every pending authorization of the order with a
// challenge of type typ and waits for the CA's verdict.
func (m *Manager) authorize(ctx context.Context, c *acmeapi.Client, order *acmeapi.Order, typ string) error {
	for _, u := range order.AuthzURLs {
		z, err := c.GetAuthorization(ctx, u)
		if err != nil {
			return err
		}
		if z.Status == acmeapi.StatusValid {
			continue // reused from an earlier validation
		}
		if z.Status != acmeapi.StatusPending {
			return fmt.Errorf("authorization for %s is %s", z.Identifier.Value, z.Status)
		}
		var chal *acmeapi.Challenge
		for _, ch := range z.Challenges {
			if ch.Type == typ {
				chal = ch
			}
		}
		if chal == nil {
			return fmt.Errorf("the CA offers no %s challenge for %s", typ, z.Identifier.Value)
		}
		remove, err := m.chal.prepare(c, typ, chal.Token, z.Identifier.Value)
		if err != nil {
			return err
		}
		_, err = c.Accept(ctx, chal)
		if err == nil {
			_, err = c.WaitAuthorization(ctx, z.URI)
		}
		remove()
		if err != nil {
			return err
		}
	}
	return nil
}

// finalize sends the CSR of a new key once the order is ready and checks
// what comes back.
func (m *Manager) finalize(ctx context.Context, c *acmeapi.Client, order *acmeapi.Order, name string) (*tls.Certificate, error) {
	order, err := c.WaitOrder(ctx, order.URI)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	req := &x509.CertificateRequest{DNSNames: []string{name}}
	if len(name) <= 64 { // the CN's upper bound (RFC 5280 appendix A.1)
		req.Subject = pkix.Name{CommonName: name}
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, req, key)
	if err != nil {
		return nil, err
	}
	der, _, err := c.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		return nil, fmt.Errorf("finalizing: %w", err)
	}
	return checkCert(der, key, name, time.Now())
}

// checkCert builds the served certificate from a chain, refusing one that
// does not match the key, the name or the time.
func checkCert(der [][]byte, key crypto.Signer, name string, now time.Time) (*tls.Certificate, error) {
	if len(der) == 0 {
		return nil, errors.New("the CA returned no certificate")
	}
	leaf, err := x509.ParseCertificate(der[0])
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	if err := leaf.VerifyHostname(name); err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	if now.Before(leaf.NotBefore.Add(-time.Hour)) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("the CA's certificate is valid from %s to %s only", leaf.NotBefore, leaf.NotAfter)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, errors.New("the CA's certificate is not for our key")
	}
	return &tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf}, nil
}

// rateLimited reports a CA's rate-limit answer and its Retry-After.
func rateLimited(err error) (time.Duration, bool) {
	var ae *acmeapi.Error
	if !errors.As(err, &ae) {
		return 0, false
	}
	return acmeapi.RateLimit(ae)
}

// oneLine flattens an error for logs and the status file: lines (as of
// errors.Join) become "; "-separated.
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			parts = append(parts, l)
		}
	}
	s := strings.Join(parts, "; ")
	const max = 1000
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
