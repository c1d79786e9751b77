package delivery

import (
	"slices"
	"sync"
	"time"

	"mailhouse/internal/directory"
)

// Recipient resolutions are cached for a moment: SMTP resolves the same
// few addresses for every message (several directory reads each), and a
// busy MX sees the same recipient many times a second. Only successful
// resolutions are kept, for Options.CacheTTL (default 1 s), so
// that an admin's change (a removed alias or account, a new target)
// takes effect within that time, and an address just created is never
// refused because of an earlier miss. Whether an account is disabled
// (Options.DisabledRefusesMail) is read on every call, not cached.
//
// Account ids may be reused by the store once the newest account is
// deleted: mail to a deleted address could reach an account created in
// its place within that second. Deleting and creating accounts is an
// admin's act, rare next to mail; the window is the TTL.

// defaultCacheTTL is Options.CacheTTL's default.
const defaultCacheTTL = time.Second

// maxResolveEntries bounds the cache: past it, expired entries and then
// an eighth of the others are dropped.
const maxResolveEntries = 10000

type resolveCache struct {
	ttl time.Duration // <= 0: off

	mu      sync.Mutex
	entries map[string]resolveEntry
}

type resolveEntry struct {
	res     directory.Resolution
	expires time.Time
}

func (c *resolveCache) get(addr string) (directory.Resolution, bool) {
	if c.ttl <= 0 {
		return directory.Resolution{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[addr]
	c.mu.Unlock()
	if !ok || !time.Now().Before(e.expires) {
		return directory.Resolution{}, false
	}
	return cloneResolution(e.res), true
}

func (c *resolveCache) put(addr string, res directory.Resolution) {
	if c.ttl <= 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]resolveEntry)
	}
	if len(c.entries) >= maxResolveEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		drop := len(c.entries) - maxResolveEntries + 1 + maxResolveEntries/8
		for k := range c.entries {
			if drop <= 0 {
				break
			}
			delete(c.entries, k)
			drop--
		}
	}
	c.entries[addr] = resolveEntry{res: cloneResolution(res), expires: now.Add(c.ttl)}
}

func (c *resolveCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cloneResolution copies the slices, so that no caller can change what
// the cache holds.
func cloneResolution(r directory.Resolution) directory.Resolution {
	r.Accounts = slices.Clone(r.Accounts)
	r.External = slices.Clone(r.External)
	return r
}
