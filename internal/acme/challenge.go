package acme

import (
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"

	acmeapi "golang.org/x/crypto/acme"
)

// alpnProto is the ALPN protocol of TLS-ALPN-01 (RFC 8737 §6.2).
const alpnProto = "acme-tls/1"

// challengePrefix is where HTTP-01 responses live (RFC 8555 §8.3).
const challengePrefix = "/.well-known/acme-challenge/"

// challenges holds the responses of the challenges in progress.
type challenges struct {
	mu   sync.Mutex
	alpn map[string]*tls.Certificate // by name
	http map[string]string           // key authorization by URL path
}

func newChallenges() *challenges {
	return &challenges{alpn: map[string]*tls.Certificate{}, http: map[string]string{}}
}

// prepare makes the response to a challenge available and returns the
// function that withdraws it.
func (c *challenges) prepare(client *acmeapi.Client, typ, token, name string) (func(), error) {
	switch typ {
	case typeTLSALPN01:
		cert, err := client.TLSALPN01ChallengeCert(token, name)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.alpn[name] = &cert
		c.mu.Unlock()
		return func() {
			c.mu.Lock()
			delete(c.alpn, name)
			c.mu.Unlock()
		}, nil
	case typeHTTP01:
		body, err := client.HTTP01ChallengeResponse(token)
		if err != nil {
			return nil, err
		}
		path := client.HTTP01ChallengePath(token)
		c.mu.Lock()
		c.http[path] = body
		c.mu.Unlock()
		return func() {
			c.mu.Lock()
			delete(c.http, path)
			c.mu.Unlock()
		}, nil
	}
	return nil, errors.New("unknown challenge type " + typ)
}

// HTTPHandler answers HTTP-01 challenges under /.well-known/acme-challenge/
// and passes every other request to fallback (nil: 404). Mount it as the
// whole handler of the plain HTTP listener (port 80), wrapping the
// handler that was there.
func (m *Manager) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, challengePrefix) {
			fallback.ServeHTTP(w, r)
			return
		}
		m.chal.mu.Lock()
		body, ok := m.chal.http[r.URL.Path]
		m.chal.mu.Unlock()
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(body))
	})
}

// alpnConfig answers a TLS-ALPN-01 validation handshake (RFC 8737 §3):
// a client offering "acme-tls/1" gets only that protocol and the
// challenge certificate for its SNI name. Other clients get nil, that
// is, the listener's own config, so that their ALPN protocols (h2,
// imap, …) are negotiated as before.
func (m *Manager) alpnConfig(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if !slices.Contains(hello.SupportedProtos, alpnProto) {
		return nil, nil
	}
	name := normalizeName(hello.ServerName)
	m.chal.mu.Lock()
	cert := m.chal.alpn[name]
	m.chal.mu.Unlock()
	if cert == nil {
		return nil, errors.New("acme: no TLS-ALPN-01 challenge in progress for " + name)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12, // RFC 8737 §4
		NextProtos:   []string{alpnProto},
		Certificates: []tls.Certificate{*cert},
	}, nil
}
