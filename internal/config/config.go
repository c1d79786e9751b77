// Package config loads and validates mailhouse's TOML configuration file.
//
// The file's keys are a public contract (documented in README.md). Unknown
// keys and bad values are errors naming the key and, where the TOML
// decoder knows it, the line. Relative paths are resolved against the
// folder of the config file.
package config

import (
	"time"
)

// Config is the whole configuration.
type Config struct {
	Hostname string `toml:"hostname"`
	DataDir  string `toml:"data_dir"`
	TLS      TLS    `toml:"tls"`
	Listen   Listen `toml:"listen"`
	SMTP     SMTP   `toml:"smtp"`
	IMAP     IMAP   `toml:"imap"`
	POP3     POP3   `toml:"pop3"`
	Limits   Limits `toml:"limits"`
	Log      Log    `toml:"log"`
	Queue    Queue  `toml:"queue"`
	Relay    Relay  `toml:"relay"`
	// Routes send mail for a domain to a fixed host:port (Postfix's
	// transport map), before MX lookup and the relay.
	Routes    map[string]string `toml:"routes"`
	DNS       DNS               `toml:"dns"`
	Quota     Quota             `toml:"quota"`     // limits.go
	Retention Retention         `toml:"retention"` // limits.go
	Abuse     Abuse             `toml:"abuse"`     // limits.go
	Store     Store             `toml:"store"`     // store.go

	// Dir is the folder of the config file; relative paths are resolved
	// against it. Not a TOML key.
	Dir string `toml:"-"`
}

// TLS names the certificate files and turns on ACME.
type TLS struct {
	// CertFile and KeyFile are PEM files; when both are empty, init makes
	// a self-signed pair in DataDir/tls. With ACME on they are the
	// fallback, served until the first ACME certificate arrives and for
	// names ACME does not cover.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`

	// ACME obtains and renews publicly trusted certificates (RFC 8555)
	// for Hostname, ACMENames and, for each hosted domain, the
	// ACMEDomainPrefixes names. Turning it on accepts the CA's terms of
	// service.
	ACME bool `toml:"acme"`
	// ACMEEmail is the account contact the CA writes to about expiring
	// certificates and policy changes; optional.
	ACMEEmail string `toml:"acme_email"`
	// ACMEDirectory is the CA's directory URL; default Let's Encrypt
	// production (DefaultACMEDirectory).
	ACMEDirectory string `toml:"acme_directory"`
	// ACMECAFile is a PEM file of extra roots trusted for the directory's
	// HTTPS (a test CA such as Pebble); empty: system roots only.
	ACMECAFile string `toml:"acme_ca_file"`
	// ACMENames are extra names to get certificates for.
	ACMENames []string `toml:"acme_names"`
	// ACMEDomainPrefixes name the hosts under each hosted domain that get
	// certificates; default autoconfig, autodiscover and mta-sts. Add
	// "imap", "smtp" and "pop" once DNS points those names here.
	ACMEDomainPrefixes []string `toml:"acme_domain_prefixes"`
}

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// DefaultACMEDomainPrefixes returns the per-domain names clients look up by
// themselves: Thunderbird's autoconfig, Outlook's autodiscover and
// MTA-STS (RFC 8461 §3.3 requires a valid certificate for mta-sts.<d>).
func DefaultACMEDomainPrefixes() []string {
	return []string{"autoconfig", "autodiscover", "mta-sts"}
}

// Listen lists the addresses (host:port) of each service. An empty list
// turns the service off.
type Listen struct {
	SMTP        []string `toml:"smtp"`
	Submission  []string `toml:"submission"`
	Submissions []string `toml:"submissions"`
	IMAP        []string `toml:"imap"`
	IMAPS       []string `toml:"imaps"`
	POP3        []string `toml:"pop3"`
	POP3S       []string `toml:"pop3s"`
	HTTP        []string `toml:"http"`
	HTTPS       []string `toml:"https"`
	// Metrics serves /metrics (Prometheus) and /healthz, unauthenticated:
	// bind it to loopback or an admin network.
	Metrics []string `toml:"metrics"`
}

// SMTP holds the limits of the SMTP and submission services.
type SMTP struct {
	MaxMessageBytes int64    `toml:"max_message_bytes"` // SIZE; default 25 MiB
	MaxRecipients   int      `toml:"max_recipients"`    // per message; default 100
	MaxLineLength   int      `toml:"max_line_length"`   // default 4096 (RFC 5321 minimum is 1000)
	CommandTimeout  Duration `toml:"command_timeout"`   // default 5m (RFC 5321 §4.5.3.2)
	DataTimeout     Duration `toml:"data_timeout"`      // default 10m
	MaxErrors       int      `toml:"max_errors"`        // errors before disconnect; default 10
}

// IMAP holds the limits of the IMAP service.
type IMAP struct {
	MaxLineLength      int      `toml:"max_line_length"`       // default 64 KiB
	MaxLiteralBytes    int64    `toml:"max_literal_bytes"`     // APPENDLIMIT; default = smtp.max_message_bytes
	UnauthTimeout      Duration `toml:"unauth_timeout"`        // default 60s
	IdleTimeout        Duration `toml:"idle_timeout"`          // authenticated; default 30m
	MaxCommands        int      `toml:"max_commands"`          // per session; default 1,000,000
	MaxErrors          int      `toml:"max_errors"`            // BADs before disconnect; default 50
	MaxSearchNesting   int      `toml:"max_search_nesting"`    // default 32
	MaxConnsPerAccount int      `toml:"max_conns_per_account"` // default 50
}

// POP3 holds the limits of the POP3 service.
type POP3 struct {
	IdleTimeout Duration `toml:"idle_timeout"` // default 10m (RFC 1939 minimum)
	MaxAuthFail int      `toml:"max_auth_failures"`
}

// Limits are shared by every service.
type Limits struct {
	MaxConnsPerIP      int      `toml:"max_conns_per_ip"`      // per service; default 20
	MaxConns           int      `toml:"max_conns"`             // per service; default 5000
	LoginFailuresPerIP int      `toml:"login_failures_per_ip"` // before a block; default 10
	LoginBlock         Duration `toml:"login_block"`           // default 15m
	ShutdownTimeout    Duration `toml:"shutdown_timeout"`      // default 10s
}

// Log selects the log output.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error; default info
	Format string `toml:"format"` // text or json; default text
}

// Duration is a time.Duration written as a string such as "30s" or "10m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
