package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailhouse/internal/store"
)

// store.Limits: domain quotas, quota warnings, retention rules and login
// blocks (migration 0005).

var _ store.Limits = (*Core)(nil)

// SetDomainQuota implements store.Limits.
func (s *Core) SetDomainQuota(ctx context.Context, domain string, bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("domain %s: negative quota: %w", domain, store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		id, err := w.domainID(domain)
		if err != nil {
			return err
		}
		_, err = w.exec(`INSERT INTO domain_quotas (domain_id, quota_bytes) VALUES (?, ?)
			ON CONFLICT (domain_id) DO UPDATE SET quota_bytes = excluded.quota_bytes`, id, bytes)
		return err
	})
}

// DomainQuota implements store.Limits.
func (s *Core) DomainQuota(ctx context.Context, domain string) (int64, store.Usage, error) {
	var limit int64
	var u store.Usage
	// One statement is one snapshot: no read transaction needed (see
	// Quota). sum(bigint) is numeric in PostgreSQL: cast back.
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow(`SELECT coalesce(q.quota_bytes, 0),
				CAST(coalesce(sum(m.message_bytes), 0) AS BIGINT), CAST(coalesce(sum(m.message_count), 0) AS BIGINT)
			FROM domains d LEFT JOIN domain_quotas q ON q.domain_id = d.id
			LEFT JOIN accounts a ON a.domain_id = d.id LEFT JOIN mailboxes m ON m.account_id = a.id
			WHERE d.name = ? GROUP BY d.id, q.quota_bytes`, []any{domain}, &limit, &u.Bytes, &u.Messages)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("domain %s: %w", domain, store.ErrNotFound)
		}
		return err
	})
	return limit, u, err
}

// QuotaWarned implements store.Limits.
func (s *Core) QuotaWarned(ctx context.Context, account store.AccountID) (int, error) {
	var p int
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow("SELECT percent FROM quota_warnings WHERE account_id = ?", []any{account}, &p)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return p, err
}

// SetQuotaWarned implements store.Limits.
func (s *Core) SetQuotaWarned(ctx context.Context, account store.AccountID, percent int) error {
	return s.write(ctx, func(w *wtx) error {
		if percent <= 0 {
			_, err := w.exec("DELETE FROM quota_warnings WHERE account_id = ?", account)
			return err
		}
		_, err := w.exec(`INSERT INTO quota_warnings (account_id, percent) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET percent = excluded.percent`, account, percent)
		return err
	})
}

// SetRetention implements store.Limits.
func (s *Core) SetRetention(ctx context.Context, rr store.RetentionRule) error {
	if rr.Days < 0 || rr.Folder == "" {
		return fmt.Errorf("retention rule %+v: %w", rr, store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		if rr.Days == 0 {
			_, err := w.exec("DELETE FROM retention_rules WHERE domain = ? AND account = ? AND folder = ?",
				rr.Domain, rr.Account, rr.Folder)
			return err
		}
		_, err := w.exec(`INSERT INTO retention_rules (domain, account, folder, days) VALUES (?, ?, ?, ?)
			ON CONFLICT (domain, account, folder) DO UPDATE SET days = excluded.days`,
			rr.Domain, rr.Account, rr.Folder, rr.Days)
		return err
	})
}

// ListRetention implements store.Limits.
func (s *Core) ListRetention(ctx context.Context) ([]store.RetentionRule, error) {
	var out []store.RetentionRule
	err := s.read(ctx, func(r reader) error {
		return r.rows("SELECT domain, account, folder, days FROM retention_rules ORDER BY domain, account, folder",
			func(rows Rows) error {
				var rr store.RetentionRule
				if err := rows.Scan(&rr.Domain, &rr.Account, &rr.Folder, &rr.Days); err != nil {
					return err
				}
				out = append(out, rr)
				return nil
			})
	})
	return out, err
}

// ExpiredUIDs implements store.Limits.
func (s *Core) ExpiredUIDs(ctx context.Context, mailbox store.MailboxID, before time.Time, limit int) ([]store.UID, error) {
	var out []store.UID
	err := s.read(ctx, func(r reader) error {
		return r.rows("SELECT uid FROM messages WHERE mailbox_id = ? AND internal_date < ? ORDER BY uid LIMIT ?",
			func(rows Rows) error {
				var u store.UID
				if err := rows.Scan(&u); err != nil {
					return err
				}
				out = append(out, u)
				return nil
			}, mailbox, before.UnixNano(), limit)
	})
	return out, err
}

// AddBlock implements store.Limits.
func (s *Core) AddBlock(ctx context.Context, b store.Block) error {
	if b.Created.IsZero() {
		b.Created = time.Now()
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.exec(`INSERT INTO login_blocks (key, until, reason, created) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET until = `+s.d.Greatest+`(login_blocks.until, excluded.until), reason = excluded.reason`,
			b.Key, b.Until.UnixNano(), b.Reason, b.Created.UnixNano())
		return err
	})
}

// GetBlock implements store.Limits.
func (s *Core) GetBlock(ctx context.Context, key string) (store.Block, error) {
	b := store.Block{Key: key}
	err := s.read(ctx, func(r reader) error {
		var until, created int64
		err := r.queryRow("SELECT until, reason, created FROM login_blocks WHERE key = ?", []any{key}, &until, &b.Reason, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("block %s: %w", key, store.ErrNotFound)
		}
		b.Until, b.Created = time.Unix(0, until), time.Unix(0, created)
		return err
	})
	return b, err
}

// ListBlocks implements store.Limits.
func (s *Core) ListBlocks(ctx context.Context, now time.Time) ([]store.Block, error) {
	var out []store.Block
	err := s.read(ctx, func(r reader) error {
		return r.rows("SELECT key, until, reason, created FROM login_blocks WHERE until > ? ORDER BY key",
			func(rows Rows) error {
				var b store.Block
				var until, created int64
				if err := rows.Scan(&b.Key, &until, &b.Reason, &created); err != nil {
					return err
				}
				b.Until, b.Created = time.Unix(0, until), time.Unix(0, created)
				out = append(out, b)
				return nil
			}, now.UnixNano())
	})
	return out, err
}

// ClearBlocks implements store.Limits. Expired blocks go too.
func (s *Core) ClearBlocks(ctx context.Context, key string) (int, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if key == "" {
			n, err = w.execN("DELETE FROM login_blocks")
			return err
		}
		if n, err = w.execN("DELETE FROM login_blocks WHERE key = ?", key); err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM login_blocks WHERE until < ?", time.Now().UnixNano())
		return err
	})
	return int(n), err
}
