package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Environment variable naming the config file when --config is not given.
const EnvConfig = "MAILHOUSE_CONFIG"

// DefaultPath is the config file used when neither --config nor
// MAILHOUSE_CONFIG is set.
const DefaultPath = "mailhouse.toml"

// Load reads, validates and completes the config file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes TOML text; dir is the folder relative paths start from.
func Parse(b []byte, dir string) (*Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("line %d: %s", errorLine(b, perr.Position), strings.ReplaceAll(perr.Message, "\n", " "))
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0]
		return nil, fmt.Errorf("line %d: unknown key %q", keyLine(b, key), key.String())
	}
	c.Dir = dir
	c.applyDefaults()
	if err := c.validate(b); err != nil {
		return nil, err
	}
	return &c, nil
}

// errorLine is the line of a parse error; the decoder counts a newline
// that ends a line as the start of the next one.
func errorLine(b []byte, p toml.Position) int {
	if p.Start >= 0 && p.Start <= len(b) {
		return bytes.Count(b[:p.Start], []byte("\n")) + 1
	}
	return p.Line
}

// keyLine finds the line where a key is set, for error messages; 0 if not
// found.
func keyLine(b []byte, key toml.Key) int {
	last := key[len(key)-1]
	for i, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, last) {
			rest := strings.TrimSpace(t[len(last):])
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "]") {
				return i + 1
			}
		}
		if strings.HasPrefix(t, "["+strings.Join(key, ".")+"]") || strings.HasPrefix(t, "["+last+"]") {
			return i + 1
		}
	}
	return 0
}

func (c *Config) applyDefaults() {
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	setInt64(&c.SMTP.MaxMessageBytes, 25<<20)
	setInt(&c.SMTP.MaxRecipients, 100)
	setInt(&c.SMTP.MaxLineLength, 4096)
	setDur(&c.SMTP.CommandTimeout, 5*time.Minute)
	setDur(&c.SMTP.DataTimeout, 10*time.Minute)
	setInt(&c.SMTP.MaxErrors, 10)
	setInt(&c.IMAP.MaxLineLength, 64<<10)
	setInt64(&c.IMAP.MaxLiteralBytes, c.SMTP.MaxMessageBytes)
	setDur(&c.IMAP.UnauthTimeout, 60*time.Second)
	setDur(&c.IMAP.IdleTimeout, 30*time.Minute)
	setInt(&c.IMAP.MaxCommands, 1_000_000)
	setInt(&c.IMAP.MaxErrors, 50)
	setInt(&c.IMAP.MaxSearchNesting, 32)
	setInt(&c.IMAP.MaxConnsPerAccount, 50)
	setDur(&c.POP3.IdleTimeout, 10*time.Minute)
	setInt(&c.POP3.MaxAuthFail, 3)
	setInt(&c.Limits.MaxConnsPerIP, 20)
	setInt(&c.Limits.MaxConns, 5000)
	setInt(&c.Limits.LoginFailuresPerIP, 10)
	setDur(&c.Limits.LoginBlock, 15*time.Minute)
	setDur(&c.Limits.ShutdownTimeout, 10*time.Second)
	c.TLS.applyDefaults()
	c.applyLimitDefaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setInt64(p *int64, v int64) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if p.Duration == 0 {
		p.Duration = v
	}
}

func (c *Config) validate(src []byte) error {
	bad := func(key, format string, args ...any) error {
		parts := strings.Split(key, ".")
		line := keyLine(src, toml.Key(parts))
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			return fmt.Errorf("line %d: %s: %s", line, key, msg)
		}
		return fmt.Errorf("%s: %s", key, msg)
	}
	if c.Hostname == "" {
		return bad("hostname", "must be set (the server's name, e.g. mail.example.com)")
	}
	if strings.ContainsAny(c.Hostname, " /:@") || strings.HasPrefix(c.Hostname, ".") || strings.HasSuffix(c.Hostname, ".") {
		return bad("hostname", "%q is not a host name", c.Hostname)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return bad("tls.cert_file", "cert_file and key_file must be set together")
	}
	if err := c.validateACME(bad); err != nil {
		return err
	}
	for name, addrs := range c.Listen.byName() {
		for _, a := range addrs {
			host, port, err := net.SplitHostPort(a)
			if err != nil || port == "" {
				return bad("listen."+name, "%q is not host:port", a)
			}
			if host != "" && net.ParseIP(host) == nil && host != "localhost" {
				return bad("listen."+name, "%q: host must be an IP address or localhost", a)
			}
		}
	}
	positive := map[string]int64{
		"smtp.max_message_bytes":       c.SMTP.MaxMessageBytes,
		"smtp.max_recipients":          int64(c.SMTP.MaxRecipients),
		"smtp.max_line_length":         int64(c.SMTP.MaxLineLength),
		"smtp.max_errors":              int64(c.SMTP.MaxErrors),
		"imap.max_line_length":         int64(c.IMAP.MaxLineLength),
		"imap.max_literal_bytes":       c.IMAP.MaxLiteralBytes,
		"imap.max_commands":            int64(c.IMAP.MaxCommands),
		"imap.max_errors":              int64(c.IMAP.MaxErrors),
		"imap.max_search_nesting":      int64(c.IMAP.MaxSearchNesting),
		"imap.max_conns_per_account":   int64(c.IMAP.MaxConnsPerAccount),
		"pop3.max_auth_failures":       int64(c.POP3.MaxAuthFail),
		"limits.max_conns_per_ip":      int64(c.Limits.MaxConnsPerIP),
		"limits.max_conns":             int64(c.Limits.MaxConns),
		"limits.login_failures_per_ip": int64(c.Limits.LoginFailuresPerIP),
		"smtp.command_timeout":         int64(c.SMTP.CommandTimeout.Duration),
		"smtp.data_timeout":            int64(c.SMTP.DataTimeout.Duration),
		"imap.unauth_timeout":          int64(c.IMAP.UnauthTimeout.Duration),
		"imap.idle_timeout":            int64(c.IMAP.IdleTimeout.Duration),
		"pop3.idle_timeout":            int64(c.POP3.IdleTimeout.Duration),
		"limits.login_block":           int64(c.Limits.LoginBlock.Duration),
		"limits.shutdown_timeout":      int64(c.Limits.ShutdownTimeout.Duration),
	}
	for k, v := range positive {
		if v < 0 {
			return bad(k, "must not be negative")
		}
	}
	if c.SMTP.MaxLineLength < 1000 {
		return bad("smtp.max_line_length", "must be at least 1000 (RFC 5321 §4.5.3.1.6)")
	}
	if c.POP3.IdleTimeout.Duration < 10*time.Minute {
		return bad("pop3.idle_timeout", "must be at least 10m (RFC 1939 §3)")
	}
	if err := c.validateOutbound(bad); err != nil {
		return err
	}
	if err := c.validateStore(bad); err != nil {
		return err
	}
	if err := c.validateLimits(bad); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	return nil
}

// applyDefaults fills the ACME keys and writes names in the form they are
// compared in (lower case, no trailing dot).
func (t *TLS) applyDefaults() {
	if t.ACMEDirectory == "" {
		t.ACMEDirectory = DefaultACMEDirectory
	}
	if t.ACMEDomainPrefixes == nil { // an explicit [] means none
		t.ACMEDomainPrefixes = DefaultACMEDomainPrefixes()
	}
	for i, n := range t.ACMENames {
		t.ACMENames[i] = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
	}
	for i, p := range t.ACMEDomainPrefixes {
		t.ACMEDomainPrefixes[i] = strings.ToLower(strings.TrimSpace(p))
	}
}

// validateACME checks the [tls] ACME keys when acme = true.
func (c *Config) validateACME(bad func(key, format string, args ...any) error) error {
	t := c.TLS
	if !t.ACME {
		return nil
	}
	if !IsDNSName(c.Hostname) {
		return bad("tls.acme", "hostname %q is not a DNS name a public CA issues for (ASCII, with a dot, not an IP address or localhost)", c.Hostname)
	}
	u, err := url.Parse(t.ACMEDirectory)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		// RFC 8555 §6.1: ACME runs over HTTPS only.
		return bad("tls.acme_directory", "%q is not an https:// URL", t.ACMEDirectory)
	}
	if e := t.ACMEEmail; e != "" {
		at := strings.LastIndexByte(e, '@')
		if at <= 0 || at == len(e)-1 || strings.ContainsAny(e, " \t<>,;:\"()[]") {
			return bad("tls.acme_email", "%q is not an email address", e)
		}
	}
	for _, n := range t.ACMENames {
		if strings.HasPrefix(n, "*.") {
			return bad("tls.acme_names", "%q: wildcard names need DNS-01 validation, which mailhouse does not do", n)
		}
		if !IsDNSName(n) {
			return bad("tls.acme_names", "%q is not a DNS name a public CA issues for", n)
		}
	}
	for _, p := range t.ACMEDomainPrefixes {
		if !isLabel(p) {
			return bad("tls.acme_domain_prefixes", "%q is not one DNS label (such as \"imap\")", p)
		}
	}
	if len(c.Listen.HTTPS) == 0 && len(c.Listen.HTTP) == 0 {
		return bad("tls.acme", "needs listen.https (TLS-ALPN-01 challenges, port 443) or listen.http (HTTP-01 challenges, port 80)")
	}
	return nil
}

// IsDNSName reports whether s is a host name a public CA can issue for:
// ASCII letters, digits and hyphens (A-labels for international names),
// at least two labels, at most 253 bytes, and not an IP address or
// localhost.
func IsDNSName(s string) bool {
	if len(s) > 253 || s == "" || net.ParseIP(s) != nil {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 || labels[len(labels)-1] == "localhost" {
		return false
	}
	for _, l := range labels {
		if !isLabel(l) {
			return false
		}
	}
	// A top-level label of digits only would read as an IPv4 address.
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// isLabel reports whether s is one DNS label (RFC 1123 §2.1): 1–63
// letters, digits and hyphens, not starting or ending with a hyphen.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (l Listen) byName() map[string][]string {
	return map[string][]string{
		"smtp": l.SMTP, "submission": l.Submission, "submissions": l.Submissions,
		"imap": l.IMAP, "imaps": l.IMAPS, "pop3": l.POP3, "pop3s": l.POP3S,
		"http": l.HTTP, "https": l.HTTPS, "metrics": l.Metrics,
	}
}

// Path resolves p against the config file's folder.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// DataPath is a path inside the data folder.
func (c *Config) DataPath(elem ...string) string {
	return filepath.Join(append([]string{c.Path(c.DataDir)}, elem...)...)
}

// ConfigPath picks the config file: the flag value, else $MAILHOUSE_CONFIG,
// else ./mailhouse.toml.
func ConfigPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(EnvConfig); v != "" {
		return v
	}
	return DefaultPath
}
