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
	// ErrBlocked: the client's address (or IPv6 /64) is blocked after too
	// many failed logins. It wraps ErrThrottled. Unlike an account
	// throttle it tells nothing about an account, so protocols say it
	// plainly (POP3 -ERR [SYS/TEMP], IMAP NO [UNAVAILABLE], SMTP 421).
	ErrBlocked = fmt.Errorf("address blocked: %w", ErrThrottled)
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
	// FailuresPerNet failed logins from one IPv6 /64 (one customer's
	// network, where every host has many addresses) block that network.
	// Default 3 × FailuresPerIP.
	FailuresPerNet int
	Window         time.Duration // default 15m
	Block          time.Duration // default 15m
	// Delay is added before answering a failed login, per failure the
	// client address has made beyond the third, up to MaxDelay (default
	// 5s): guessing slows down long before the block. 0: no delay.
	Delay    time.Duration
	MaxDelay time.Duration
	// Blocks keeps blocks across restarts and lets `mailhouse blocks
	// clear` and the admin console lift them; nil means Dir's own when it
	// implements store.Limits (otherwise blocks live in memory only).
	Blocks store.Limits
	// MaxConcurrent bounds simultaneous hash checks. Default 4.
	MaxConcurrent int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe, if set, is told the outcome of every login (one of the
	// Outcome values), for metrics. It must not block.
	Observe func(outcome string)
	// SessionCheck is how often Start's check reads the flags of
	// accounts with tracked sessions, ending those of disabled ones.
	// Default 3s.
	SessionCheck time.Duration
}

// Outcomes reported to Options.Observe.
const (
	OutcomeSuccess      = "success"
	OutcomeFailure      = "failure"
	OutcomeThrottled    = "throttled"     // refused at once: the address or account is blocked
	OutcomeBlockIP      = "block_ip"      // this failure started a block of the client address
	OutcomeBlockAccount = "block_account" // this failure started a block of the account
)

func (a *Authenticator) observe(outcome string) {
	if a.opts.Observe != nil {
		a.opts.Observe(outcome)
	}
}

// Authenticator checks logins. It is safe for concurrent use.
type Authenticator struct {
	opts  Options
	sem   chan struct{}
	mu    sync.Mutex
	fails map[string]*failures // key: "ip:<addr>" or "acct:<address>"
	dummy string               // hash checked for unknown users, so timing does not tell

	// smu guards the session registry (sessions.go).
	smu         sync.Mutex
	sessions    map[store.AccountID]map[uint64]trackedSession
	nextSession uint64
	stop        chan struct{} // closed by Shutdown; nil when not started
	stopped     chan struct{} // closed when the check loop returned
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
	if o.FailuresPerNet == 0 {
		o.FailuresPerNet = 3 * o.FailuresPerIP
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 5 * time.Second
	}
	if o.Blocks == nil {
		o.Blocks, _ = o.Dir.(store.Limits)
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
	if o.SessionCheck <= 0 {
		o.SessionCheck = defaultSessionCheck
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dummy, _ := HashPassword("not a real password", o.Params)
	a := &Authenticator{opts: o, sem: make(chan struct{}, o.MaxConcurrent), fails: map[string]*failures{}, dummy: dummy,
		sessions: map[store.AccountID]map[uint64]trackedSession{}}
	a.loadBlocks()
	return a
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
	k := keysFor(remote, addr)
	if err := a.checkBlocked(ctx, k); err != nil {
		a.opts.Logger.Warn("login refused: throttled", "user", addr, "remote", remote, "err", err)
		a.observe(OutcomeThrottled)
		return store.Account{}, err
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
		delay := a.failed(ctx, k)
		a.opts.Logger.Info("login failed", "user", addr, "remote", remote)
		a.observe(OutcomeFailure)
		a.sleep(ctx, delay)
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
			a.observe(OutcomeFailure)
			return store.Account{}, ErrInvalidCredentials
		}
	}
	a.succeeded(k)
	a.observe(OutcomeSuccess)
	return acct, nil
}
