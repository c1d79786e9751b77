package acme

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"
)

// benchManager serves n names, each with its own certificate.
func benchManager(b *testing.B, n int) *Manager {
	b.Helper()
	m, err := New(Options{Hostname: "mail.example.test", CacheDir: b.TempDir(), DirectoryURL: "https://127.0.0.1:1/dir", TLSALPN01: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := "mail.example.test"
		if i > 0 {
			name = fmt.Sprintf("autoconfig.d%d.example", i)
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), DNSNames: []string{name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			b.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		m.entries[name] = &entry{status: NameStatus{Name: name}, cert: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}
	}
	m.publish()
	return m
}

// captureHello returns the ClientHelloInfo a Go client sends for sni.
func captureHello(b *testing.B, sni string) *tls.ClientHelloInfo {
	b.Helper()
	var hello *tls.ClientHelloInfo
	a, c := net.Pipe()
	defer a.Close()
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tls.Server(a, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello = h
			return nil, fmt.Errorf("captured")
		}}).Handshake()
		a.Close()
	}()
	_ = tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
	<-done
	if hello == nil {
		b.Fatal("no ClientHello captured")
	}
	return hello
}

// BenchmarkGetCertificate is the certificate choice added to every
// handshake, with 1,000 names served.
func BenchmarkGetCertificate(b *testing.B) {
	m := benchManager(b, 1000)
	for _, sni := range []string{"autoconfig.d500.example", "", "unknown.example"} {
		hello := captureHello(b, sni)
		b.Run(fmt.Sprintf("sni=%q", sni), func(b *testing.B) {
			for b.Loop() {
				if c, err := m.getCertificate(hello); err != nil || c == nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandshake is a whole TLS 1.3 handshake (ECDSA P-256) through
// the manager's config, in memory.
func BenchmarkHandshake(b *testing.B) {
	m := benchManager(b, 3)
	conf := m.TLSConfig()
	client := &tls.Config{ServerName: "mail.example.test", InsecureSkipVerify: true}
	for b.Loop() {
		a, c := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(a, conf).Handshake() }()
		if err := tls.Client(c, client).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		a.Close()
		c.Close()
	}
}
