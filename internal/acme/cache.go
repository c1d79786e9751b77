package acme

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailhouse/internal/config"
)

// The state folder (Options.CacheDir/<dirKey>/):
//
//	account.key       the ACME account's key (PEM, 0600)
//	certs/<name>.pem  a name's private key and chain (PEM, 0600)
//	status.json       each name's last attempt, error and back-off
//
// Files are replaced atomically (write, fsync, rename, fsync the folder),
// so a crash leaves the old file or the new one, never half of one.

// dirKey names the state folder of a CA directory URL, so that
// certificates of a staging or test CA are never served after switching
// to production.
func dirKey(directory string) string {
	u, err := url.Parse(directory)
	s := directory
	if err == nil {
		s = u.Host + u.Path
	}
	var b strings.Builder
	for _, r := range strings.Trim(s, "/") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if strings.Trim(b.String(), ".") == "" { // "", ".", ".."
		return "default"
	}
	return b.String()
}

// StateDir is the folder of the state kept for o's CA.
func (o Options) StateDir() string {
	o.applyDefaults()
	return filepath.Join(o.CacheDir, dirKey(o.DirectoryURL))
}

func certPath(dir, name string) string { return filepath.Join(dir, "certs", name+".pem") }

// accountKey loads the account key, making one on first use.
func (m *Manager) accountKey() (crypto.Signer, error) {
	p := filepath.Join(m.dir, "account.key")
	b, err := os.ReadFile(p)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM key", p)
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(p, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// loadCert reads a name's cached certificate; nil when there is none or
// it is unusable (logged).
func (m *Manager) loadCert(name string) *tls.Certificate {
	c, err := readCert(m.dir, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.log.Warn("cached certificate unusable; obtaining a new one", "name", name, "err", err)
	}
	return c
}

// readCert reads certs/<name>.pem: one PEM file with the key and chain.
func readCert(dir, name string) (*tls.Certificate, error) {
	if !config.IsDNSName(name) { // also keeps the name a plain file name
		return nil, fmt.Errorf("%q is not a DNS name", name)
	}
	b, err := os.ReadFile(certPath(dir, name))
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(b, b)
	if err != nil {
		return nil, err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, err
		}
	}
	if err := c.Leaf.VerifyHostname(name); err != nil {
		return nil, err
	}
	return &c, nil
}

func (m *Manager) saveCert(name string, c *tls.Certificate) error {
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: key})
	for _, der := range c.Certificate {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return writeFileAtomic(certPath(m.dir, name), b.Bytes(), 0o600)
}

// state is status.json.
type state struct {
	Directory string       `json:"directory"`
	Updated   time.Time    `json:"updated"`
	Names     []NameStatus `json:"names"`
}

func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, "status.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return parseState(b)
}

// parseState decodes status.json.
func parseState(b []byte) (state, error) {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("status.json: %w", err)
	}
	// Keep only well-formed names (they become file names).
	names := st.Names[:0]
	for _, n := range st.Names {
		if n.Name = normalizeName(n.Name); config.IsDNSName(n.Name) {
			names = append(names, n)
		}
	}
	st.Names = names
	return st, nil
}

// saveState writes status.json for `mailhouse tls status` and for the
// back-off to survive a restart.
func (m *Manager) saveState() error {
	st := state{Directory: m.o.DirectoryURL, Updated: time.Now().UTC()}
	for _, n := range m.ManagedNames() {
		m.mu.Lock()
		if e := m.entries[n]; e != nil {
			st.Names = append(st.Names, e.status)
		}
		m.mu.Unlock()
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(m.dir, "status.json"), append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path by data durably.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
