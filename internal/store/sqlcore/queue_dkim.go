package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailhouse/internal/store"
)

// store.DKIMKeys (migration 0003).

var _ store.DKIMKeys = (*Core)(nil)

// AddDKIMKey implements store.DKIMKeys.
func (s *Core) AddDKIMKey(ctx context.Context, k store.DKIMKey) error {
	if err := checkSelector(k.Selector); err != nil {
		return err
	}
	if len(k.PrivateKey) == 0 || (k.Algorithm != "ed25519" && k.Algorithm != "rsa") {
		return fmt.Errorf("dkim key %s: algorithm %q or empty key: %w", k.Selector, k.Algorithm, store.ErrNotAllowed)
	}
	if k.Created.IsZero() {
		k.Created = time.Now()
	}
	return s.write(ctx, func(w *wtx) error {
		var id int64
		err := w.queryRow("SELECT id FROM domains WHERE name = ?", []any{k.Domain}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("domain %s: %w", k.Domain, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		n, err := w.execN(`INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, created) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, id, k.Selector, k.Algorithm, k.PrivateKey, unixNano(k.Created))
		if err == nil && n == 0 {
			err = fmt.Errorf("dkim key %s._domainkey.%s: %w", k.Selector, k.Domain, store.ErrExists)
		}
		return err
	})
}

// ListDKIMKeys implements store.DKIMKeys.
func (s *Core) ListDKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	var ks []store.DKIMKey
	err := s.read(ctx, func(r reader) (err error) {
		ks, err = all(r, func(sc scanner) (store.DKIMKey, error) {
			var k store.DKIMKey
			var created int64
			err := sc.Scan(&k.Domain, &k.Selector, &k.Algorithm, &k.PrivateKey, &created)
			k.Created = fromUnixNano(created)
			return k, err
		}, `SELECT d.name, k.selector, k.algorithm, k.private_key, k.created
			FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
			WHERE ? = '' OR d.name = ? ORDER BY d.name, k.selector`, domain, domain)
		return err
	})
	return ks, err
}

// DeleteDKIMKey implements store.DKIMKeys.
func (s *Core) DeleteDKIMKey(ctx context.Context, domain, selector string) error {
	return s.write(ctx, func(w *wtx) error {
		n, err := w.execN(`DELETE FROM dkim_keys WHERE selector = ?
			AND domain_id = (SELECT id FROM domains WHERE name = ?)`, selector, domain)
		if err == nil && n == 0 {
			err = fmt.Errorf("dkim key %s._domainkey.%s: %w", selector, domain, store.ErrNotFound)
		}
		return err
	})
}
