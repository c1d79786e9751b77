// Package mailauth authenticates mail: it DKIM-signs what our domains
// send (RFC 6376, with an Ed25519 key (RFC 8463) and an RSA-2048 key
// side by side, relaxed/relaxed, From oversigned), and checks what
// arrives on port 25: SPF (RFC 7208) on the HELO and MAIL FROM
// identities, DKIM signatures, and DMARC (RFC 7489) with identifier
// alignment, written as an Authentication-Results header (RFC 8601).
// It also lists the DNS records a domain publishes for all of this.
//
// DKIM and Authentication-Results come from github.com/emersion/go-msgauth,
// SPF from blitiri.com.ar/go/spf; DMARC evaluation (policy discovery,
// alignment, the verdict) is ours, as go-msgauth only parses records.
//
// It does not do: ARC, DMARC reports (rua/ruf), or reputation.
package mailauth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"mailhouse/internal/store"
)

// rsaBits is the size of generated RSA keys (RFC 8301 §3.2: at least
// 1024, 2048 recommended; larger keys need split TXT strings anyway).
const rsaBits = 2048

// GenerateKeys creates a domain's signing keys, an Ed25519 and an
// RSA-2048 one, with selectors named after the date ("e20260101",
// "r20260101"), unless the domain already has keys. `domain add` and
// the app call it when a domain is added.
func GenerateKeys(ctx context.Context, keys store.DKIMKeys, domain string, now time.Time) ([]store.DKIMKey, error) {
	have, err := keys.ListDKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	if len(have) > 0 {
		return have, nil
	}
	date := now.UTC().Format("20060102")
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, err
	}
	var out []store.DKIMKey
	for _, k := range []struct {
		sel, alg string
		key      crypto.Signer
	}{{"e" + date, "ed25519", edPriv}, {"r" + date, "rsa", rsaPriv}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return nil, err
		}
		dk := store.DKIMKey{Domain: domain, Selector: k.sel, Algorithm: k.alg, PrivateKey: der, Created: now}
		if err := keys.AddDKIMKey(ctx, dk); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("dkim key for %s: %w", domain, err)
		}
		out = append(out, dk)
	}
	return out, nil
}

// signer parses a stored key.
func signer(k store.DKIMKey) (crypto.Signer, error) {
	p, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s._domainkey.%s: %w", k.Selector, k.Domain, err)
	}
	s, ok := p.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim key %s._domainkey.%s: not a signing key", k.Selector, k.Domain)
	}
	return s, nil
}

// PublicRecord is the TXT value of a key (RFC 6376 §3.6.1):
// "v=DKIM1; k=ed25519; p=...".
func PublicRecord(k store.DKIMKey) (string, error) {
	s, err := signer(k)
	if err != nil {
		return "", err
	}
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		// RFC 8463 §4.2: the raw 32-byte key.
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	}
	return "", fmt.Errorf("dkim key %s: unsupported type", k.Selector)
}
