package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mailhouse/internal/config"
	"mailhouse/internal/directory"
	"mailhouse/internal/netx"
)

// Ports are the standard ports of each service, in config order.
var Ports = []struct {
	Key   string
	Ports []int
	Note  string
}{
	{"smtp", []int{25}, "MX: mail from the internet, STARTTLS offered"},
	{"submission", []int{587, 2525}, "clients sending: STARTTLS, then AUTH"},
	{"submissions", []int{465}, "clients sending: implicit TLS"},
	{"imap", []int{143}, "STARTTLS"},
	{"imaps", []int{993}, "implicit TLS"},
	{"pop3", []int{110}, "STLS"},
	{"pop3s", []int{995}, "implicit TLS"},
	{"http", []int{80}, "redirects to HTTPS; autoconfig"},
	{"https", []int{443}, "webmail, admin, autoconfig"},
}

// ConfigText renders a commented config file. host is the listen address
// (e.g. "0.0.0.0") and offset is added to every standard port.
func ConfigText(hostname, host string, offset int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# mailhouse configuration; see README.md for every key.\n")
	fmt.Fprintf(&b, "hostname = %q      # name in greetings, certificates, Received headers\n", hostname)
	fmt.Fprintf(&b, "data_dir = \"data\"  # relative to this file's folder\n\n")
	fmt.Fprintf(&b, "[tls]\n")
	fmt.Fprintf(&b, "# PEM chain and key. When both are empty, the self-signed pair made by init\n")
	fmt.Fprintf(&b, "# in data/tls/ is used; clients will ask users to trust it.\n")
	fmt.Fprintf(&b, "cert_file = \"\"\nkey_file = \"\"\n\n")
	fmt.Fprintf(&b, "[listen]  # each a list of host:port; an empty list turns the service off\n")
	for _, p := range Ports {
		var addrs []string
		for _, port := range p.Ports {
			addrs = append(addrs, strconv.Quote(host+":"+strconv.Itoa(port+offset)))
		}
		fmt.Fprintf(&b, "%-11s = [%s]  # %s\n", p.Key, strings.Join(addrs, ", "), p.Note)
	}
	return b.String()
}

// DefaultCertPaths are where init puts a self-signed pair and where serve
// looks when [tls] names no files.
func DefaultCertPaths(c *config.Config) (cert, key string) {
	return c.DataPath("tls", "cert.pem"), c.DataPath("tls", "key.pem")
}

// InitOptions are what Init sets up.
type InitOptions struct {
	Dir, Domain, Hostname string
	ListenHost            string
	PortOffset            int
}

// Setup writes DIR/mailhouse.toml (if absent), creates the data folder
// and a self-signed certificate (if no certificate is configured and none
// exists), and adds the domain (if absent). It returns the loaded config.
func Setup(env *Env, o InitOptions) (*config.Config, bool, error) {
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, false, err
	}
	path := filepath.Join(o.Dir, config.DefaultPath)
	created := false
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		text := ConfigText(o.Hostname, o.ListenHost, o.PortOffset)
		if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
			return nil, false, err
		}
		created = true
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(cfg.DataPath(), 0o750); err != nil {
		return nil, false, err
	}
	if cfg.TLS.CertFile == "" {
		cert, key := DefaultCertPaths(cfg)
		if _, err := os.Stat(cert); errors.Is(err, fs.ErrNotExist) {
			if err := netx.GenerateSelfSigned(cfg.Hostname, cert, key); err != nil {
				return nil, false, fmt.Errorf("making a self-signed certificate: %w", err)
			}
		}
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return nil, false, err
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.GetDomain(ctx, o.Domain); err != nil {
		if _, err := st.AddDomain(ctx, o.Domain); err != nil {
			return nil, false, err
		}
		if err := AddDomainKeys(ctx, st, o.Domain); err != nil {
			return nil, false, fmt.Errorf("DKIM keys for %s: %w", o.Domain, err)
		}
	}
	return cfg, created, nil
}

// Init is `mailhouse init`.
func Init(env *Env, args []string) error {
	fs, _ := NewFlagSet(env, "init", "--domain DOMAIN [--hostname HOST] [--dir DIR]",
		"Writes DIR/mailhouse.toml, creates the data folder and a self-signed certificate, and adds the domain.")
	domain := fs.String("domain", "", "the first mail domain to host (required)")
	hostname := fs.String("hostname", "", "this server's name (default mail.DOMAIN)")
	dir := fs.String("dir", ".", "folder for the config file and data")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *domain == "" {
		fs.Usage()
		return ErrUsage
	}
	d, err := directory.NormalizeDomain(*domain)
	if err != nil {
		return fmt.Errorf("init: %v", err)
	}
	h := *hostname
	if h == "" {
		h = "mail." + d
	}
	if _, err := directory.NormalizeDomain(h); err != nil {
		return fmt.Errorf("init: --hostname: %v", err)
	}
	if _, err := os.Stat(filepath.Join(*dir, config.DefaultPath)); err == nil {
		return fmt.Errorf("init: %s already exists", filepath.Join(*dir, config.DefaultPath))
	}
	cfg, _, err := Setup(env, InitOptions{Dir: *dir, Domain: d, Hostname: h, ListenHost: "0.0.0.0"})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	cert, _ := DefaultCertPaths(cfg)
	fmt.Fprintf(env.Stdout, "wrote %s\n", filepath.Join(*dir, config.DefaultPath))
	fmt.Fprintf(env.Stdout, "added domain %s\n", directory.DisplayDomain(d))
	fmt.Fprintf(env.Stdout, "made a self-signed certificate for %s in %s:\n", h, cert)
	fmt.Fprintf(env.Stdout, "  mail clients will ask users to trust it; set [tls] cert_file and key_file to a CA-signed pair for production.\n")
	fmt.Fprintf(env.Stdout, "next: mailhouse user add you@%s --config %s\n", d, filepath.Join(*dir, config.DefaultPath))
	fmt.Fprintf(env.Stdout, "then: mailhouse serve --config %s\n", filepath.Join(*dir, config.DefaultPath))
	return nil
}
