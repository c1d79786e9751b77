package auth

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"mailhouse/internal/store"
)

// Brute-force protection. Failed logins are counted per client address,
// per IPv6 /64 and per account, over Options.Window. Past the third
// failure of an address each answer is delayed a little more; at the
// limit the address (or network, or account) is blocked for
// Options.Block. A block is logged, kept in the store (so that it
// survives a restart and `mailhouse blocks clear` can lift it) and
// checked again there at most every blockRecheck.
//
// A successful login forgets the failures of its address only when they
// were all against that same account (a user who mistyped): an address
// guessing many accounts stays counted even if one guess succeeds.

const (
	// blockRecheck bounds how long a block lifted in the store (by the
	// CLI, from another process) keeps refusing here.
	blockRecheck = 5 * time.Second
	// maxTracked bounds the failure records kept in memory.
	maxTracked = 100_000
	// maxAccountsPerKey bounds the distinct accounts remembered per
	// address.
	maxAccountsPerKey = 8
	// freeFailures are the failures of an address answered without delay.
	freeFailures = 3
)

type failures struct {
	count        int
	first, until time.Time
	limit        int
	accounts     map[string]bool // address and network keys: accounts tried
	verified     time.Time       // when the block was last confirmed in the store
}

// keys are the counters one login attempt touches.
type keys struct {
	ip, net, acct string // net is "" for IPv4
	account       string
}

func keysFor(remote netip.Addr, account string) keys {
	remote = remote.Unmap()
	k := keys{ip: "ip:" + remote.String(), acct: "acct:" + account, account: account}
	if remote.Is6() {
		if p, err := remote.Prefix(64); err == nil {
			k.net = "net:" + p.String()
		}
	}
	return k
}

// checkBlocked returns ErrBlocked when the address or its network is
// blocked, ErrThrottled when the account is.
func (a *Authenticator) checkBlocked(ctx context.Context, k keys) error {
	if a.blocked(ctx, k.ip) || (k.net != "" && a.blocked(ctx, k.net)) {
		return ErrBlocked
	}
	if a.blocked(ctx, k.acct) {
		return ErrThrottled
	}
	return nil
}

// IPBlocked reports whether logins from remote are blocked, so that a
// protocol may refuse the connection at once.
func (a *Authenticator) IPBlocked(ctx context.Context, remote netip.Addr) bool {
	k := keysFor(remote, "")
	return a.blocked(ctx, k.ip) || (k.net != "" && a.blocked(ctx, k.net))
}

func (a *Authenticator) blocked(ctx context.Context, key string) bool {
	now := a.opts.Now()
	a.mu.Lock()
	f := a.fails[key]
	if f == nil || !now.Before(f.until) {
		a.mu.Unlock()
		return false
	}
	recheck := a.opts.Blocks != nil && now.Sub(f.verified) > blockRecheck
	if recheck {
		f.verified = now
	}
	a.mu.Unlock()
	if !recheck {
		return true
	}
	b, err := a.opts.Blocks.GetBlock(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.opts.Logger.Error("login block check failed", "key", key, "err", err)
		return true
	}
	if err == nil && now.Before(b.Until) {
		return true
	}
	// Lifted elsewhere: forget it here too.
	a.mu.Lock()
	delete(a.fails, key)
	a.mu.Unlock()
	a.opts.Logger.Info("login block lifted", "key", key)
	return false
}

// failed counts a failed login and returns how long to wait before
// answering.
func (a *Authenticator) failed(ctx context.Context, k keys) time.Duration {
	now := a.opts.Now()
	var started []store.Block
	a.mu.Lock()
	count := func(key string, limit int, outcome string) int {
		f := a.fails[key]
		if f == nil || (now.Sub(f.first) > a.opts.Window && !now.Before(f.until)) {
			f = &failures{first: now, limit: limit}
			a.fails[key] = f
		}
		f.count++
		if key != k.acct && len(f.accounts) < maxAccountsPerKey {
			if f.accounts == nil {
				f.accounts = map[string]bool{}
			}
			f.accounts[k.account] = true
		}
		if f.count >= limit && !now.Before(f.until) {
			f.until, f.verified = now.Add(a.opts.Block), now
			started = append(started, store.Block{Key: key, Until: f.until, Created: now,
				Reason: "failed logins: " + itoa(f.count) + " in " + a.opts.Window.String()})
			a.observe(outcome)
		}
		return f.count
	}
	n := count(k.ip, a.opts.FailuresPerIP, OutcomeBlockIP)
	if k.net != "" {
		count(k.net, a.opts.FailuresPerNet, OutcomeBlockIP)
	}
	count(k.acct, a.opts.FailuresPerAccount, OutcomeBlockAccount)
	if len(a.fails) > maxTracked {
		a.pruneLocked(now)
	}
	a.mu.Unlock()
	for _, b := range started {
		a.opts.Logger.Warn("login block started", "key", b.Key, "until", b.Until.UTC().Format(time.RFC3339), "reason", b.Reason)
		if a.opts.Blocks != nil {
			if err := a.opts.Blocks.AddBlock(ctx, b); err != nil {
				a.opts.Logger.Error("login block not saved", "key", b.Key, "err", err)
			}
		}
	}
	if a.opts.Delay <= 0 || n <= freeFailures {
		return 0
	}
	return min(time.Duration(n-freeFailures)*a.opts.Delay, a.opts.MaxDelay)
}

// succeeded forgets the failures of the address and network when they
// were all against the account that just logged in.
func (a *Authenticator) succeeded(k keys) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, key := range []string{k.ip, k.net} {
		f := a.fails[key]
		if f == nil || !a.opts.Now().After(f.until) {
			continue // a blocked key stays blocked
		}
		if len(f.accounts) == 0 || (len(f.accounts) == 1 && f.accounts[k.account]) {
			delete(a.fails, key)
		}
	}
}

func (a *Authenticator) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// pruneLocked drops expired entries so the map stays bounded.
func (a *Authenticator) pruneLocked(now time.Time) {
	for k, f := range a.fails {
		if now.Sub(f.first) > a.opts.Window && now.After(f.until) {
			delete(a.fails, k)
		}
	}
}

// loadBlocks restores the blocks in force from the store.
func (a *Authenticator) loadBlocks() {
	if a.opts.Blocks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bs, err := a.opts.Blocks.ListBlocks(ctx, a.opts.Now())
	if err != nil {
		a.opts.Logger.Error("login blocks not loaded", "err", err)
		return
	}
	now := a.opts.Now()
	for _, b := range bs {
		a.fails[b.Key] = &failures{first: b.Created, until: b.Until, verified: now}
	}
}

// Blocks lists the blocks in force (for the admin console): those this
// server started, and those in the store.
func (a *Authenticator) Blocks(ctx context.Context) ([]store.Block, error) {
	now := a.opts.Now()
	if a.opts.Blocks != nil {
		return a.opts.Blocks.ListBlocks(ctx, now)
	}
	var out []store.Block
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, f := range a.fails {
		if now.Before(f.until) {
			out = append(out, store.Block{Key: k, Until: f.until, Created: f.first})
		}
	}
	return out, nil
}

// ClearBlock lifts the block of key ("ip:192.0.2.1", "net:2001:db8::/64",
// "acct:alice@example.com"), or every block when key is empty, and
// forgets the failures counted against it. It returns how many blocks
// it lifted.
func (a *Authenticator) ClearBlock(ctx context.Context, key string) (int, error) {
	n := 0
	a.mu.Lock()
	now := a.opts.Now()
	for k, f := range a.fails {
		if key == "" || k == key {
			if now.Before(f.until) {
				n++
			}
			delete(a.fails, k)
		}
	}
	a.mu.Unlock()
	if a.opts.Blocks != nil {
		m, err := a.opts.Blocks.ClearBlocks(ctx, key)
		if err != nil {
			return n, err
		}
		n = max(n, m)
	}
	a.opts.Logger.Info("login blocks cleared", "key", key, "count", n)
	return n, nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
