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

// store.Admin: account flags, audit log, API tokens (migration 0002).

var _ store.Admin = (*Core)(nil)

// maxAuditPage bounds one ListAudit page.
const maxAuditPage = 1000

// SetAdmin implements store.Admin.
func (s *Core) SetAdmin(ctx context.Context, address string, admin bool) error {
	return s.setFlag(ctx, address, "admin", admin)
}

// SetDisabled implements store.Admin.
func (s *Core) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return s.setFlag(ctx, address, "disabled", disabled)
}

// setFlag sets one flag column; column is a constant of this file.
func (s *Core) setFlag(ctx context.Context, address, column string, v bool) error {
	return s.write(ctx, func(w *wtx) error {
		var id store.AccountID
		err := w.queryRow("SELECT id FROM accounts WHERE address = ?", []any{address}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = w.exec(`INSERT INTO account_flags (account_id, `+column+`) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET `+column+` = excluded.`+column, id, v)
		return err
	})
}

// AccountFlags implements store.Admin.
func (s *Core) AccountFlags(ctx context.Context, address string) (store.AccountFlags, error) {
	var f store.AccountFlags
	err := s.read(ctx, func(r reader) error {
		var admin, disabled *bool
		err := r.queryRow(`SELECT f.admin, f.disabled FROM accounts a
			LEFT JOIN account_flags f ON f.account_id = a.id WHERE a.address = ?`, []any{address}, &admin, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, store.ErrNotFound)
		}
		f = store.AccountFlags{Admin: admin != nil && *admin, Disabled: disabled != nil && *disabled}
		return err
	})
	return f, err
}

// ListAccountFlags implements store.Admin.
func (s *Core) ListAccountFlags(ctx context.Context) (map[store.AccountID]store.AccountFlags, error) {
	m := map[store.AccountID]store.AccountFlags{}
	err := s.read(ctx, func(r reader) error {
		rows, err := r.query("SELECT account_id, admin, disabled FROM account_flags WHERE admin OR disabled")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id store.AccountID
			var f store.AccountFlags
			if err := rows.Scan(&id, &f.Admin, &f.Disabled); err != nil {
				return err
			}
			m[id] = f
		}
		return rows.Err()
	})
	return m, err
}

// AddAudit implements store.Admin.
func (s *Core) AddAudit(ctx context.Context, e store.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if strings.TrimSpace(e.Actor) == "" || strings.TrimSpace(e.Action) == "" {
		return fmt.Errorf("audit entry without actor or action: %w", store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec("INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
			unixNano(e.Time), e.Actor, e.Action, e.Target, e.Detail)
		return err
	})
}

// ListAudit implements store.Admin.
func (s *Core) ListAudit(ctx context.Context, before int64, limit int) ([]store.AuditEntry, error) {
	if limit <= 0 || limit > maxAuditPage {
		limit = maxAuditPage
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var es []store.AuditEntry
	err := s.read(ctx, func(r reader) (err error) {
		es, err = all(r, func(sc scanner) (store.AuditEntry, error) {
			var e store.AuditEntry
			var at int64
			err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail)
			e.Time = fromUnixNano(at)
			return e, err
		}, `SELECT id, at, actor, action, target, detail FROM audit_log
			WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
		return err
	})
	return es, err
}

// AddToken implements store.Admin.
func (s *Core) AddToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if len(t.Hash) == 0 || strings.TrimSpace(t.Name) == "" {
		return store.APIToken{}, fmt.Errorf("token without name or hash: %w", store.ErrNotAllowed)
	}
	t.Created = fromUnixNano(time.Now().UnixNano())
	err := s.write(ctx, func(w *wtx) error {
		var err error
		t.ID, err = w.insert("INSERT INTO api_tokens (name, hash, created, created_by) VALUES (?, ?, ?, ?)",
			t.Name, t.Hash, unixNano(t.Created), t.CreatedBy)
		return err
	})
	if err != nil {
		return store.APIToken{}, err
	}
	return t, nil
}

const tokenColumns = "SELECT id, name, hash, created, created_by FROM api_tokens "

func scanToken(sc scanner) (store.APIToken, error) {
	var t store.APIToken
	var created int64
	err := sc.Scan(&t.ID, &t.Name, &t.Hash, &created, &t.CreatedBy)
	t.Created = fromUnixNano(created)
	return t, err
}

// GetToken implements store.Admin.
func (s *Core) GetToken(ctx context.Context, id int64) (store.APIToken, error) {
	var t store.APIToken
	err := s.read(ctx, func(r reader) error {
		var err error
		t, err = first(r, func() error { return fmt.Errorf("token %d: %w", id, store.ErrNotFound) },
			scanToken, tokenColumns+"WHERE id = ?", id)
		return err
	})
	return t, err
}

// ListTokens implements store.Admin.
func (s *Core) ListTokens(ctx context.Context) ([]store.APIToken, error) {
	var ts []store.APIToken
	err := s.read(ctx, func(r reader) error {
		var err error
		ts, err = all(r, scanToken, tokenColumns+"ORDER BY id")
		return err
	})
	return ts, err
}

// DeleteToken implements store.Admin.
func (s *Core) DeleteToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := w.execN("DELETE FROM api_tokens WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("token %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}
