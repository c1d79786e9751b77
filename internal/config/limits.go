package config

import (
	"strings"
	"time"
)

// Quota is [quota]: storage limits.
type Quota struct {
	// DefaultBytes is the storage quota of an account that has none of
	// its own (Account.QuotaBytes 0). 0 here means unlimited: it is the
	// one place where zero does, and the README says so.
	DefaultBytes int64 `toml:"default_bytes"`
	// WarnPercent are the levels at which the user is sent a warning,
	// once each; default [80, 95].
	WarnPercent []int `toml:"warn_percent"`
}

// Retention is [retention]: server-wide retention defaults and the
// background job. Per-domain and per-account rules are kept in the store
// (mailhouse retention set).
type Retention struct {
	// Folders maps a folder to the days its messages are kept: a
	// special-use name in lower case ("trash", "junk", "sent", "drafts",
	// "archive") or a mailbox name ("INBOX"). Default trash = 30,
	// junk = 30; an empty [retention.folders] table keeps everything.
	Folders  map[string]int `toml:"folders"`
	Interval Duration       `toml:"interval"` // between runs; default 1h
	Batch    int            `toml:"batch"`    // messages per expunge; default 500
}

// Abuse is [abuse]: brute-force and compromised-account protection.
type Abuse struct {
	// LoginFailuresPerAccount failed logins to one account (from any
	// address) block it for limits.login_block; default 30.
	LoginFailuresPerAccount int `toml:"login_failures_per_account"`
	// LoginFailuresPerNet failed logins from one IPv6 /64 block it; default
	// 3 × limits.login_failures_per_ip.
	LoginFailuresPerNet int      `toml:"login_failures_per_net"`
	LoginWindow         Duration `toml:"login_window"` // failures counted over; default 15m
	// LoginDelay is added per failed login of an address before its
	// next answer, up to LoginDelayMax; defaults 250ms and 5s.
	LoginDelay    Duration `toml:"login_delay"`
	LoginDelayMax Duration `toml:"login_delay_max"`
	// SendMessagesPerHour and SendRecipientsPerHour bound what one
	// account submits; defaults 500 and 2000.
	SendMessagesPerHour   int `toml:"send_messages_per_hour"`
	SendRecipientsPerHour int `toml:"send_recipients_per_hour"`
	// DisabledRefusesMail refuses incoming mail for disabled accounts
	// (default: they keep receiving).
	DisabledRefusesMail bool `toml:"disabled_refuses_mail"`
}

func (c *Config) applyLimitDefaults() {
	if c.Quota.WarnPercent == nil {
		c.Quota.WarnPercent = []int{80, 95}
	}
	if c.Retention.Folders == nil {
		c.Retention.Folders = map[string]int{"trash": 30, "junk": 30}
	}
	setDur(&c.Retention.Interval, time.Hour)
	setInt(&c.Retention.Batch, 500)
	setInt(&c.Abuse.LoginFailuresPerAccount, 30)
	setInt(&c.Abuse.LoginFailuresPerNet, 3*c.Limits.LoginFailuresPerIP)
	setDur(&c.Abuse.LoginWindow, 15*time.Minute)
	setDur(&c.Abuse.LoginDelay, 250*time.Millisecond)
	setDur(&c.Abuse.LoginDelayMax, 5*time.Second)
	setInt(&c.Abuse.SendMessagesPerHour, 500)
	setInt(&c.Abuse.SendRecipientsPerHour, 2000)
}

func (c *Config) validateLimits(bad func(key, format string, args ...any) error) error {
	c.applyLimitDefaults()
	if c.Quota.DefaultBytes < 0 {
		return bad("quota.default_bytes", "must not be negative (0 means unlimited)")
	}
	for _, p := range c.Quota.WarnPercent {
		if p <= 0 || p >= 100 {
			return bad("quota.warn_percent", "%d is not a percentage between 1 and 99", p)
		}
	}
	for f, d := range c.Retention.Folders {
		if d <= 0 {
			return bad("retention.folders", "%q: days must be positive (remove the key to keep mail)", f)
		}
		if strings.TrimSpace(f) == "" {
			return bad("retention.folders", "empty folder name")
		}
	}
	positive := map[string]int64{
		"retention.interval":               int64(c.Retention.Interval.Duration),
		"retention.batch":                  int64(c.Retention.Batch),
		"abuse.login_failures_per_account": int64(c.Abuse.LoginFailuresPerAccount),
		"abuse.login_failures_per_net":     int64(c.Abuse.LoginFailuresPerNet),
		"abuse.login_window":               int64(c.Abuse.LoginWindow.Duration),
		"abuse.login_delay":                int64(c.Abuse.LoginDelay.Duration),
		"abuse.login_delay_max":            int64(c.Abuse.LoginDelayMax.Duration),
		"abuse.send_messages_per_hour":     int64(c.Abuse.SendMessagesPerHour),
		"abuse.send_recipients_per_hour":   int64(c.Abuse.SendRecipientsPerHour),
	}
	for k, v := range positive {
		if v <= 0 {
			return bad(k, "must be positive")
		}
	}
	return nil
}
