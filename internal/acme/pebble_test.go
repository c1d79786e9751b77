package acme_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/testutil"
)

// pebble is Pebble, the ACME test CA, run by a test on loopback.
type pebble struct {
	DirURL string
	// CAFile trusts Pebble's own HTTPS (the ACME API).
	CAFile string
	// Roots holds only the root Pebble issues under: what the test's
	// clients trust.
	Roots   *x509.CertPool
	rootDER [][]byte
	log     *lockedBuffer
}

// startPebble runs Pebble with a fresh CA. It resolves names with the
// DNS server at dnsAddr and validates HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort (of whatever address the name resolves to).
func startPebble(t *testing.T, dnsAddr string, httpPort, tlsPort int) *pebble {
	t.Helper()
	bin := testutil.NeedTool(t, "pebble")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := netx.GenerateSelfSigned("localhost", cert, key); err != nil { // also 127.0.0.1
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	own, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(own)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	// Its two ports are free when picked; another process may take one
	// before Pebble listens. Then Pebble exits and we try other ports.
	var p *pebble
	var root []byte
	for attempt := 0; ; attempt++ {
		listen, mgmt := freeAddr(t), freeAddr(t)
		conf := map[string]any{"pebble": map[string]any{
			"listenAddress": listen, "managementListenAddress": mgmt,
			"certificate": cert, "privateKey": key,
			"httpPort": httpPort, "tlsPort": tlsPort,
			"ocspResponderURL": "", "externalAccountBindingRequired": false,
		}}
		b, _ := json.Marshal(conf)
		confFile := filepath.Join(dir, "pebble.json")
		if err := os.WriteFile(confFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		p = &pebble{DirURL: "https://" + listen + "/dir", CAFile: cert, log: &lockedBuffer{}}
		cmd := exec.Command(bin, "-config", confFile, "-dnsserver", dnsAddr, "-strict=false")
		cmd.Env = append(os.Environ(),
			"PEBBLE_VA_NOSLEEP=1",      // validate at once
			"PEBBLE_WFE_NONCEREJECT=0", // no random badNonce errors
			"PEBBLE_AUTHZREUSE=0",      // every order validates again
		)
		cmd.Stdout, cmd.Stderr = p.log, p.log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		log := p.log
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("pebble's log:\n%s", log.String())
			}
		})

		deadline := time.Now().Add(20 * time.Second)
		for root == nil {
			root = get(hc, "https://"+mgmt+"/roots/0")
			if root != nil && get(hc, p.DirURL) == nil {
				root = nil
			}
			if root != nil {
				break
			}
			select {
			case <-exited:
			default:
				if time.Now().After(deadline) {
					t.Fatalf("pebble did not start:\n%s", p.log.String())
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if attempt >= 2 || !bytes.Contains([]byte(p.log.String()), []byte("address already in use")) {
				t.Fatalf("pebble exited:\n%s", p.log.String())
			}
			break
		}
		if root != nil {
			break
		}
	}
	p.Roots = x509.NewCertPool()
	for rest := root; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("pebble's root: %v", err)
		}
		p.Roots.AddCert(c)
		p.rootDER = append(p.rootDER, blk.Bytes)
	}
	if len(p.rootDER) == 0 {
		t.Fatalf("pebble's root: %q", root)
	}
	return p
}

// get returns a 200 response's body, nil otherwise.
func get(hc *http.Client, url string) []byte {
	resp, err := hc.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	return b
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// lockedBuffer collects output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
