package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// Errors of Login. Protocols map both to their "authentication failed"
// reply; neither tells the client whether the account exists.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrThrottled          = errors.New("too many failed logins; try again later")
)

// Options configure an Authenticator.
type Options struct {
	Dir    store.Directory
	Logger *slog.Logger
	// Params are the argon2id costs for new hashes; zero means DefaultParams.
	Params Params
	// FailuresPerIP failed logins from one client address within Window
	// block that address for Block. Default 10.
	FailuresPerIP int
	// FailuresPerAccount failed logins to one account within Window
	// slow further attempts on it for Block, from any address. Default 30.
	FailuresPerAccount int
	Window             time.Duration // default 15m
	Block              time.Duration // default 15m
	// MaxConcurrent bounds simultaneous hash checks. Default 4.
	MaxConcurrent int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator checks logins. It is safe for concurrent use.
type Authenticator struct {
	opts  Options
	sem   chan struct{}
	mu    sync.Mutex
	fails map[string]*failures // key: "ip:<addr>" or "acct:<address>"
	dummy string               // hash checked for unknown users, so timing does not tell
}

type failures struct {
	count        int
	first, until time.Time
}

// New returns an Authenticator.
func New(o Options) *Authenticator {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.FailuresPerIP == 0 {
		o.FailuresPerIP = 10
	}
	if o.FailuresPerAccount == 0 {
		o.FailuresPerAccount = 30
	}
	if o.Window == 0 {
		o.Window = 15 * time.Minute
	}
	if o.Block == 0 {
		o.Block = 15 * time.Minute
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dummy, _ := HashPassword("not a real password", o.Params)
	return &Authenticator{opts: o, sem: make(chan struct{}, o.MaxConcurrent), fails: map[string]*failures{}, dummy: dummy}
}

// HashPassword hashes with the Authenticator's parameters.
func (a *Authenticator) HashPassword(password string) (string, error) {
	return HashPassword(password, a.opts.Params)
}

// Login checks a user name (the full email address) and password from a
// client address. It returns the account, ErrInvalidCredentials or
// ErrThrottled. The password is never logged.
func (a *Authenticator) Login(ctx context.Context, username, password string, remote netip.Addr) (store.Account, error) {
	addr, err := directory.Normalize(username)
	if err != nil {
		addr = username
	}
	ipKey := "ip:" + remote.Unmap().String()
	acctKey := "acct:" + addr
	if a.blocked(ipKey) || a.blocked(acctKey) {
		a.opts.Logger.Warn("login refused: throttled", "user", addr, "remote", remote)
		return store.Account{}, ErrThrottled
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return store.Account{}, ctx.Err()
	}
	defer func() { <-a.sem }()

	acct, err := a.opts.Dir.GetAccount(ctx, addr)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Account{}, fmt.Errorf("login: %w", err)
	}
	hash := a.dummy
	if err == nil {
		hash = acct.PasswordHash
	}
	ok, herr := CheckPassword(hash, password)
	if herr != nil {
		a.opts.Logger.Error("login: stored password hash unusable", "user", addr, "err", herr)
	}
	if err != nil || !ok {
		a.fail(ipKey, a.opts.FailuresPerIP)
		a.fail(acctKey, a.opts.FailuresPerAccount)
		a.opts.Logger.Info("login failed", "user", addr, "remote", remote)
		return store.Account{}, ErrInvalidCredentials
	}
	// A disabled account keeps its mail but cannot log in anywhere.
	if adm, ok := a.opts.Dir.(store.Admin); ok {
		flags, err := adm.AccountFlags(ctx, addr)
		if err != nil {
			return store.Account{}, fmt.Errorf("login: %w", err)
		}
		if flags.Disabled {
			a.opts.Logger.Info("login refused: account disabled", "user", addr, "remote", remote)
			return store.Account{}, ErrInvalidCredentials
		}
	}
	a.mu.Lock()
	delete(a.fails, ipKey)
	a.mu.Unlock()
	return acct, nil
}

func (a *Authenticator) blocked(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[key]
	return f != nil && a.opts.Now().Before(f.until)
}

func (a *Authenticator) fail(key string, limit int) {
	now := a.opts.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[key]
	if f == nil || now.Sub(f.first) > a.opts.Window {
		f = &failures{first: now}
		a.fails[key] = f
	}
	f.count++
	if f.count >= limit {
		f.until = now.Add(a.opts.Block)
	}
	if len(a.fails) > 100_000 {
		a.pruneLocked(now)
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
