package delivery

import (
	"slices"
	"sync"
	"time"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// SMTP reads the same few directory rows for every message: the
// recipient's resolution (domain, account, aliases), whether its account
// has any quota, its INBOX. A busy MX sees the same recipient many times
// a second, so the Deliverer keeps these for Options.CacheTTL (default
// 1 s): an admin's change (a removed alias or account, a new target, a
// new quota) takes effect on incoming mail within that time. Only
// successful resolutions are kept, so an address just created is never
// refused because of an earlier miss; whether an account is disabled
// (Options.DisabledRefusesMail) is read on every call. An INBOX cannot
// be deleted or renamed away (store: RENAME INBOX moves its messages),
// so its id only goes with its account.
//
// The caches are keyed by address and by account id, and hold account
// and mailbox ids. The store never hands an id out twice (SQLite's
// AUTOINCREMENT since schema version 6, PostgreSQL's identity
// sequences), so an entry names one account or mailbox for ever. Mail to
// an account deleted within the TTL follows its cached resolution and
// INBOX to a mailbox that no longer exists: the store refuses the
// delivery (store.ErrNotFound; SMTP answers 451, the whole message is
// retried, and the address is refused as unknown once the entry has
// expired). It never reaches an account created since, even one given
// the same address, and a new account's quota is read, never taken from
// a deleted account's cached "no quota"
// (TestDeletedAccountsMailNeverReachesANewOne).

// defaultCacheTTL is Options.CacheTTL's default.
const defaultCacheTTL = time.Second

// maxCacheEntries bounds each cache: past it, expired entries and then
// an eighth of the others are dropped.
const maxCacheEntries = 10000

// ttlCache maps keys to values for a time (ttl <= 0: keeps nothing).
type ttlCache[K comparable, V any] struct {
	ttl time.Duration

	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *ttlCache[K, V]) get(k K) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || !time.Now().Before(e.expires) {
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[K, V]) put(k K, v V) {
	if c.ttl <= 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[K]ttlEntry[V])
	}
	if len(c.entries) >= maxCacheEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		drop := len(c.entries) - maxCacheEntries + 1 + maxCacheEntries/8
		for k := range c.entries {
			if drop <= 0 {
				break
			}
			delete(c.entries, k)
			drop--
		}
	}
	c.entries[k] = ttlEntry[V]{v: v, expires: now.Add(c.ttl)}
}

// caches are the Deliverer's caches.
type caches struct {
	resolved  ttlCache[string, directory.Resolution] // by address as given
	unlimited ttlCache[store.AccountID, struct{}]    // accounts without any quota (Admit)
	inbox     ttlCache[store.AccountID, store.Mailbox]
}

func newCaches(ttl time.Duration) *caches {
	c := &caches{}
	c.resolved.ttl, c.unlimited.ttl, c.inbox.ttl = ttl, ttl, ttl
	return c
}

// resolution returns a cached resolution, copied so that no caller can
// change what the cache holds.
func (c *caches) resolution(addr string) (directory.Resolution, bool) {
	r, ok := c.resolved.get(addr)
	return cloneResolution(r), ok
}

func (c *caches) putResolution(addr string, r directory.Resolution) {
	c.resolved.put(addr, cloneResolution(r))
}

func cloneResolution(r directory.Resolution) directory.Resolution {
	r.Accounts = slices.Clone(r.Accounts)
	r.External = slices.Clone(r.External)
	return r
}
