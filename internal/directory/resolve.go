package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailhouse/internal/store"
)

// Errors of Resolve.
var (
	// ErrNotLocal: the address's domain is not one we host.
	ErrNotLocal = errors.New("domain not hosted here")
	// ErrUnknownUser: a hosted domain, but no account, alias or catch-all
	// takes the address.
	ErrUnknownUser = errors.New("no such user")
	// ErrLoop: aliases point at each other, or nest deeper than MaxDepth.
	ErrLoop = errors.New("alias loop or nesting too deep")
)

// MaxDepth bounds alias nesting.
const MaxDepth = 10

// Resolution is where mail for one address goes.
type Resolution struct {
	// Address is the normalised address that was resolved.
	Address string
	// Accounts are the local accounts that get a copy, without duplicates.
	Accounts []store.Account
	// External are addresses on other domains to forward to.
	External []string
}

// Resolver resolves addresses against the directory.
type Resolver struct {
	Dir store.Directory
}

// IsLocalDomain reports whether we host the domain (A-label form or not).
func (r *Resolver) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return false, nil
	}
	if _, err := r.Dir.GetDomain(ctx, d); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Resolve finds every account and external address that mail to addr
// reaches, following aliases, plus addresses and catch-alls. An address
// of a domain we do not host gives ErrNotLocal; an unknown local one
// ErrUnknownUser.
func (r *Resolver) Resolve(ctx context.Context, addr string) (Resolution, error) {
	norm, err := Normalize(addr)
	if err != nil {
		return Resolution{}, err
	}
	_, domain, _ := Split(norm)
	if ok, err := r.IsLocalDomain(ctx, domain); err != nil {
		return Resolution{}, err
	} else if !ok {
		return Resolution{}, fmt.Errorf("%s: %w", norm, ErrNotLocal)
	}
	w := walker{r: r, seenAcct: map[store.AccountID]bool{}, seenExt: map[string]bool{}, path: map[string]bool{},
		local: map[string]bool{domain: true}}
	if err := w.expand(ctx, norm, 0, nil); err != nil {
		return Resolution{}, err
	}
	return Resolution{Address: norm, Accounts: w.accounts, External: w.external}, nil
}

// ValidateAlias checks that adding a (which is not yet stored) would
// leave every address resolvable: no loop, no nesting past MaxDepth, and
// local targets that exist.
func (r *Resolver) ValidateAlias(ctx context.Context, a store.Alias) error {
	w := walker{r: r, seenAcct: map[store.AccountID]bool{}, seenExt: map[string]bool{}, path: map[string]bool{}, extra: &a,
		local: map[string]bool{}}
	return w.expand(ctx, a.Address, 0, nil)
}

type walker struct {
	r        *Resolver
	accounts []store.Account
	external []string
	seenAcct map[store.AccountID]bool
	seenExt  map[string]bool
	path     map[string]bool // addresses on the current expansion path
	extra    *store.Alias    // an alias not yet stored (ValidateAlias)
	local    map[string]bool // domains already looked up: hosted or not
}

// isLocal is IsLocalDomain, asked once per domain in one resolution.
func (w *walker) isLocal(ctx context.Context, domain string) (bool, error) {
	if l, ok := w.local[domain]; ok {
		return l, nil
	}
	l, err := w.r.IsLocalDomain(ctx, domain)
	if err == nil {
		w.local[domain] = l
	}
	return l, err
}

func (w *walker) alias(ctx context.Context, addr string) (store.Alias, error) {
	if w.extra != nil && w.extra.Address == addr {
		return *w.extra, nil
	}
	return w.r.Dir.GetAlias(ctx, addr)
}

// expand resolves one normalised address (or "@domain" catch-all).
func (w *walker) expand(ctx context.Context, addr string, depth int, via []string) error {
	if depth > MaxDepth {
		return fmt.Errorf("%s: %w (%s)", addr, ErrLoop, strings.Join(via, " -> "))
	}
	if w.path[addr] {
		return fmt.Errorf("%s: %w (%s -> %s)", addr, ErrLoop, strings.Join(via, " -> "), addr)
	}
	w.path[addr] = true
	defer delete(w.path, addr)
	via = append(via, addr)

	_, domain, _ := strings.Cut(addr, "@")
	if local, err := w.isLocal(ctx, domain); err != nil {
		return err
	} else if !local {
		if !w.seenExt[addr] {
			w.seenExt[addr] = true
			w.external = append(w.external, addr)
		}
		return nil
	}
	// An account, then an alias, each with and without a +tag, then the
	// domain's catch-all.
	candidates := []string{addr}
	if s := StripPlus(addr); s != addr {
		candidates = append(candidates, s)
	}
	if !strings.HasPrefix(addr, "@") {
		candidates = append(candidates, "@"+domain)
	}
	for _, c := range candidates {
		if !strings.HasPrefix(c, "@") {
			acct, err := w.r.Dir.GetAccount(ctx, c)
			if err == nil {
				if !w.seenAcct[acct.ID] {
					w.seenAcct[acct.ID] = true
					w.accounts = append(w.accounts, acct)
				}
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		al, err := w.alias(ctx, c)
		if err == nil {
			for _, t := range al.Targets {
				nt, err := Normalize(t)
				if err != nil {
					return fmt.Errorf("alias %s: target %q: %w", al.Address, t, err)
				}
				if err := w.expand(ctx, nt, depth+1, via); err != nil {
					return err
				}
			}
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return fmt.Errorf("%s: %w", addr, ErrUnknownUser)
}

// Owns reports whether an account may use addr as its sender: its own
// address, a plus address of it, or an alias (not a catch-all) whose
// resolution delivers to the account.
func (r *Resolver) Owns(ctx context.Context, acct store.Account, addr string) (bool, error) {
	norm, err := Normalize(addr)
	if err != nil {
		return false, nil
	}
	if norm == acct.Address || StripPlus(norm) == acct.Address {
		return true, nil
	}
	for _, c := range []string{norm, StripPlus(norm)} {
		if _, err := r.Dir.GetAlias(ctx, c); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return false, err
		}
		res, err := r.Resolve(ctx, c)
		if err != nil {
			continue
		}
		for _, a := range res.Accounts {
			if a.ID == acct.ID {
				return true, nil
			}
		}
	}
	return false, nil
}
