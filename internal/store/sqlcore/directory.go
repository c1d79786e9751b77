package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailhouse/internal/store"
)

// Directory: domains, accounts and aliases. Addresses arrive normalised
// (store.Directory); the checks here only refuse what is not an address
// at all, so that a bug elsewhere cannot create an account nobody can
// reach.

// checkDomainName refuses what cannot be a domain in A-label form.
func checkDomainName(name string) error {
	if name == "" || strings.ContainsAny(name, "@ \t\r\n/") {
		return fmt.Errorf("domain %q: not a domain name: %w", name, store.ErrNotAllowed)
	}
	return nil
}

// splitAddress returns the domain of local@domain. allowCatchAll admits
// an empty local part ("@domain", an alias catching all).
func splitAddress(kind, addr string, allowCatchAll bool) (domain string, err error) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || (i == 0 && !allowCatchAll) || strings.ContainsAny(addr, " \t\r\n") {
		return "", fmt.Errorf("%s %q: not an address: %w", kind, addr, store.ErrNotAllowed)
	}
	domain = addr[i+1:]
	if err := checkDomainName(domain); err != nil {
		return "", fmt.Errorf("%s %q: %w", kind, addr, err)
	}
	return domain, nil
}

// AddDomain implements store.Directory.
func (s *Core) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	if err := checkDomainName(name); err != nil {
		return store.Domain{}, err
	}
	d := store.Domain{Name: name, Created: fromUnixNano(time.Now().UnixNano())}
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.domainID(name); err == nil {
			return fmt.Errorf("domain %s: %w", name, store.ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		id, err := w.insert("INSERT INTO domains (name, created) VALUES (?, ?)", name, unixNano(d.Created))
		if s.d.isUnique(err) {
			return fmt.Errorf("domain %s: %w", name, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("domain %s: %w", name, err)
		}
		d.ID = store.DomainID(id)
		return nil
	})
	if err != nil {
		return store.Domain{}, err
	}
	return d, nil
}

// domainID finds a domain inside a write.
func (w *wtx) domainID(name string) (store.DomainID, error) {
	var id store.DomainID
	err := w.queryRow("SELECT id FROM domains WHERE name = ?", []any{name}, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	return id, err
}

// DeleteDomain implements store.Directory.
func (s *Core) DeleteDomain(ctx context.Context, name string) error {
	return s.write(ctx, func(w *wtx) error {
		id, err := w.domainID(name)
		if err != nil {
			return err
		}
		var accounts, aliases int
		if err := w.queryRow(`SELECT
			(SELECT count(*) FROM accounts WHERE domain_id = ?1),
			(SELECT count(*) FROM aliases WHERE domain_id = ?1)`, []any{id}, &accounts, &aliases); err != nil {
			return err
		}
		if accounts+aliases > 0 {
			return fmt.Errorf("domain %s: still has %d account(s) and %d alias(es): %w", name, accounts, aliases, store.ErrNotEmpty)
		}
		_, err = w.exec("DELETE FROM domains WHERE id = ?", id)
		return err
	})
}

// GetDomain implements store.Directory.
func (s *Core) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	var d store.Domain
	err := s.read(ctx, func(r reader) error {
		var created int64
		err := r.queryRow("SELECT id, name, created FROM domains WHERE name = ?", []any{name}, &d.ID, &d.Name, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
		}
		d.Created = fromUnixNano(created)
		return err
	})
	return d, err
}

// ListDomains implements store.Directory; ordered by name.
func (s *Core) ListDomains(ctx context.Context) ([]store.Domain, error) {
	var ds []store.Domain
	err := s.read(ctx, func(r reader) (err error) {
		ds, err = all(r, func(sc scanner) (store.Domain, error) {
			var d store.Domain
			var created int64
			err := sc.Scan(&d.ID, &d.Name, &created)
			d.Created = fromUnixNano(created)
			return d, err
		}, "SELECT id, name, created FROM domains ORDER BY name")
		return err
	})
	return ds, err
}

// AddAccount implements store.Directory: the account and its
// store.DefaultMailboxes are created in one transaction.
func (s *Core) AddAccount(ctx context.Context, a store.NewAccount) (store.Account, error) {
	domain, err := splitAddress("account", a.Address, false)
	if err != nil {
		return store.Account{}, err
	}
	if a.QuotaBytes < 0 {
		return store.Account{}, fmt.Errorf("account %s: negative quota: %w", a.Address, store.ErrNotAllowed)
	}
	acc := store.Account{
		Address:      a.Address,
		Domain:       domain,
		PasswordHash: a.PasswordHash,
		QuotaBytes:   a.QuotaBytes,
		Created:      fromUnixNano(time.Now().UnixNano()),
	}
	err = s.write(ctx, func(w *wtx) error {
		did, err := w.domainID(domain)
		if err != nil {
			return fmt.Errorf("account %s: %w", a.Address, err)
		}
		if err := w.addressFree("account", a.Address); err != nil {
			return err
		}
		id, err := w.insert(`INSERT INTO accounts (address, domain_id, password_hash, quota_bytes, created)
			VALUES (?, ?, ?, ?, ?)`, a.Address, did, a.PasswordHash, a.QuotaBytes, unixNano(acc.Created))
		if s.d.isUnique(err) {
			return fmt.Errorf("account %s: %w", a.Address, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("account %s: %w", a.Address, err)
		}
		acc.ID = store.AccountID(id)
		for _, m := range store.DefaultMailboxes {
			if _, err := w.createMailbox(acc.ID, m.Name, m.SpecialUse, true); err != nil {
				return fmt.Errorf("account %s: %w", a.Address, err)
			}
		}
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return acc, nil
}

// addressFree checks, inside a write, that neither an account nor an
// alias has addr, so that an address always means one thing.
func (w *wtx) addressFree(kind, addr string) error {
	var accounts, aliases int
	if err := w.queryRow(`SELECT
		(SELECT count(*) FROM accounts WHERE address = ?1),
		(SELECT count(*) FROM aliases WHERE address = ?1)`, []any{addr}, &accounts, &aliases); err != nil {
		return err
	}
	switch {
	case accounts > 0 && kind == "account", aliases > 0 && kind == "alias":
		return fmt.Errorf("%s %s: %w", kind, addr, store.ErrExists)
	case accounts > 0:
		return fmt.Errorf("%s %s: an account with this address %w", kind, addr, store.ErrExists)
	case aliases > 0:
		return fmt.Errorf("%s %s: an alias with this address %w", kind, addr, store.ErrExists)
	}
	return nil
}

// DeleteAccount implements store.Directory. Mailboxes, messages and (via
// the schema's cascade and triggers) bodies no longer shared go with it.
func (s *Core) DeleteAccount(ctx context.Context, address string) error {
	return s.write(ctx, func(w *wtx) error {
		var id store.AccountID
		err := w.queryRow("DELETE FROM accounts WHERE address = ? RETURNING id", []any{address}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("account %s: %w", address, err)
		}
		w.event(store.Event{Kind: store.EventMailboxes, Account: id})
		return nil
	})
}

const accountColumns = `SELECT a.id, a.address, d.name, a.password_hash, a.quota_bytes, a.created
	FROM accounts a JOIN domains d ON d.id = a.domain_id `

func scanAccount(sc scanner) (store.Account, error) {
	var a store.Account
	var created int64
	err := sc.Scan(&a.ID, &a.Address, &a.Domain, &a.PasswordHash, &a.QuotaBytes, &created)
	a.Created = fromUnixNano(created)
	return a, err
}

func (s *Core) getAccount(ctx context.Context, what, where string, arg any) (store.Account, error) {
	var a store.Account
	err := s.read(ctx, func(r reader) error {
		var err error
		a, err = first(r, func() error { return fmt.Errorf("account %s: %w", what, store.ErrNotFound) },
			scanAccount, accountColumns+"WHERE "+where, arg)
		return err
	})
	return a, err
}

// GetAccount implements store.Directory.
func (s *Core) GetAccount(ctx context.Context, address string) (store.Account, error) {
	return s.getAccount(ctx, address, "a.address = ?", address)
}

// GetAccountByID implements store.Directory.
func (s *Core) GetAccountByID(ctx context.Context, id store.AccountID) (store.Account, error) {
	return s.getAccount(ctx, fmt.Sprintf("#%d", id), "a.id = ?", id)
}

// ListAccounts implements store.Directory. An unknown domain is
// ErrNotFound rather than an empty list, to tell a typo from an empty
// domain.
func (s *Core) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	var as []store.Account
	err := s.readTx(ctx, func(r reader) error {
		q, args := accountColumns+"ORDER BY a.address", []any(nil)
		if domain != "" {
			if err := r.domainExists(domain); err != nil {
				return err
			}
			q, args = accountColumns+"WHERE d.name = ? ORDER BY a.address", []any{domain}
		}
		var err error
		as, err = all(r, scanAccount, q, args...)
		return err
	})
	return as, err
}

func (r reader) domainExists(name string) error {
	var n int
	if err := r.queryRow("SELECT count(*) FROM domains WHERE name = ?", []any{name}, &n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("domain %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// SetPassword implements store.Directory.
func (s *Core) SetPassword(ctx context.Context, address, passwordHash string) error {
	return s.updateAccount(ctx, address, "password_hash", passwordHash)
}

// SetQuota implements store.Directory; 0 means unlimited.
func (s *Core) SetQuota(ctx context.Context, address string, quotaBytes int64) error {
	if quotaBytes < 0 {
		return fmt.Errorf("account %s: negative quota: %w", address, store.ErrNotAllowed)
	}
	return s.updateAccount(ctx, address, "quota_bytes", quotaBytes)
}

// updateAccount sets one column; column is a constant of this file.
func (s *Core) updateAccount(ctx context.Context, address, column string, v any) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := w.execN("UPDATE accounts SET "+column+" = ? WHERE address = ?", v, address)
		if err != nil {
			return fmt.Errorf("account %s: %w", address, err)
		}
		if n == 0 {
			return fmt.Errorf("account %s: %w", address, store.ErrNotFound)
		}
		return nil
	})
}

// AddAlias implements store.Directory.
func (s *Core) AddAlias(ctx context.Context, a store.Alias) error {
	domain, err := splitAddress("alias", a.Address, true)
	if err != nil {
		return err
	}
	if len(a.Targets) == 0 {
		return fmt.Errorf("alias %s: no targets: %w", a.Address, store.ErrNotAllowed)
	}
	for _, t := range a.Targets {
		if _, err := splitAddress("alias target", t, false); err != nil {
			return fmt.Errorf("alias %s: %w", a.Address, err)
		}
	}
	targets := append([]string(nil), a.Targets...)
	return s.write(ctx, func(w *wtx) error {
		did, err := w.domainID(domain)
		if err != nil {
			return fmt.Errorf("alias %s: %w", a.Address, err)
		}
		if err := w.addressFree("alias", a.Address); err != nil {
			return err
		}
		id, err := w.insert("INSERT INTO aliases (address, domain_id, created) VALUES (?, ?, ?)",
			a.Address, did, time.Now().UnixNano())
		if s.d.isUnique(err) {
			return fmt.Errorf("alias %s: %w", a.Address, store.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("alias %s: %w", a.Address, err)
		}
		for i, t := range targets {
			if _, err := w.exec("INSERT INTO alias_targets (alias_id, position, target) VALUES (?, ?, ?)", id, i, t); err != nil {
				return fmt.Errorf("alias %s: %w", a.Address, err)
			}
		}
		return nil
	})
}

// DeleteAlias implements store.Directory.
func (s *Core) DeleteAlias(ctx context.Context, address string) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := w.execN("DELETE FROM aliases WHERE address = ?", address)
		if err != nil {
			return fmt.Errorf("alias %s: %w", address, err)
		}
		if n == 0 {
			return fmt.Errorf("alias %s: %w", address, store.ErrNotFound)
		}
		return nil
	})
}

// GetAlias implements store.Directory.
func (s *Core) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	var as []store.Alias
	err := s.read(ctx, func(r reader) error {
		var err error
		as, err = r.aliases("WHERE a.address = ?", address)
		return err
	})
	if err != nil {
		return store.Alias{}, err
	}
	if len(as) == 0 {
		return store.Alias{}, fmt.Errorf("alias %s: %w", address, store.ErrNotFound)
	}
	return as[0], nil
}

// ListAliases implements store.Directory: the aliases of one domain, or
// of all when domain is empty, ordered by address.
func (s *Core) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	var as []store.Alias
	err := s.readTx(ctx, func(r reader) error {
		var err error
		if domain == "" {
			as, err = r.aliases("")
			return err
		}
		if err := r.domainExists(domain); err != nil {
			return err
		}
		as, err = r.aliases("JOIN domains d ON d.id = a.domain_id WHERE d.name = ?", domain)
		return err
	})
	return as, err
}

// aliases reads aliases with their targets in one query, ordered by
// address then target position.
func (r reader) aliases(where string, args ...any) ([]store.Alias, error) {
	rows, err := r.query(`SELECT a.address, t.target FROM aliases a
		JOIN alias_targets t ON t.alias_id = a.id `+where+`
		ORDER BY a.address, t.position`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []store.Alias
	for rows.Next() {
		var addr, target string
		if err := rows.Scan(&addr, &target); err != nil {
			return nil, err
		}
		if len(as) == 0 || as[len(as)-1].Address != addr {
			as = append(as, store.Alias{Address: addr})
		}
		as[len(as)-1].Targets = append(as[len(as)-1].Targets, target)
	}
	return as, rows.Err()
}
