package netx

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCertStoreReload: a reload serves the new pair to new handshakes; a
// failed one keeps the old pair.
func TestCertStoreReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := GenerateSelfSigned("one.example", cert, key); err != nil {
		t.Fatal(err)
	}
	cs, err := LoadCert(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	var src CertSource = cs
	conf := src.TLSConfig()
	served := func() string {
		t.Helper()
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go func() { _ = tls.Server(a, conf).Handshake() }()
		c := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().PeerCertificates[0].DNSNames[0]
	}
	if got := served(); got != "one.example" {
		t.Fatalf("served %s", got)
	}
	if err := GenerateSelfSigned("two.example", cert, key); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != "two.example" {
		t.Errorf("after reload served %s", got)
	}
	if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Error("reload of a broken key succeeded")
	}
	if got := served(); got != "two.example" {
		t.Errorf("after a failed reload served %s", got)
	}
}
