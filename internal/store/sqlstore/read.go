package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"mailhouse/internal/store"
)

// reader runs queries on the read pool, alone or inside one read
// transaction (one snapshot) when a method needs several consistent
// queries.
type reader struct {
	s   *Store
	ctx context.Context
	tx  *sql.Tx // nil: each query on any pooled connection
	// missed collects, inside a transaction, the queries that had no
	// cached statement; readTx caches them once its connection is free.
	missed *[]string
}

// read runs fn with queries on the read pool.
func (s *Store) read(ctx context.Context, fn func(r reader) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return fn(reader{s: s, ctx: ctx})
}

// readTx runs fn inside one read transaction: every query sees the same
// committed state.
func (s *Store) readTx(ctx context.Context, fn func(r reader) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlstore: begin read: %w", err)
	}
	// Read-only: ending it by rollback loses nothing.
	defer func() { _ = tx.Rollback() }()
	var missed []string
	err = fn(reader{s: s, ctx: ctx, tx: tx, missed: &missed})
	_ = tx.Rollback()
	// With the connection back in the pool, prepare what ran uncached, so
	// that the next transaction does not parse the same SQL again.
	for _, q := range missed {
		_, _ = s.rstmt(q)
	}
	return err
}

// rstmt returns the pool-level prepared statement for q, or nil when the
// cache is full; database/sql prepares it on each pooled connection the
// first time it runs there.
func (s *Store) rstmt(q string) (*sql.Stmt, error) {
	s.rstmtMu.Lock()
	st, ok := s.rstmts[q]
	full := len(s.rstmts) >= maxCachedStmts
	s.rstmtMu.Unlock()
	if ok || full {
		return st, nil
	}
	// Prepare without holding the mutex: preparing needs a free read
	// connection, and callers inside a read transaction hold one while
	// they wait here; holding the mutex too would deadlock the pool.
	st, err := s.rdb.Prepare(q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: prepare %q: %w", q, err)
	}
	s.rstmtMu.Lock()
	defer s.rstmtMu.Unlock()
	if prev, ok := s.rstmts[q]; ok {
		_ = st.Close() // another caller prepared it meanwhile
		return prev, nil
	}
	s.rstmts[q] = st
	return st, nil
}

// cachedStmt returns a prepared statement only if one is cached; a
// reader inside a transaction uses it so as never to wait for a second
// connection of the pool.
func (s *Store) cachedStmt(q string) *sql.Stmt {
	s.rstmtMu.Lock()
	defer s.rstmtMu.Unlock()
	return s.rstmts[q]
}

func (r reader) query(q string, args ...any) (*sql.Rows, error) {
	var st *sql.Stmt
	if r.tx != nil {
		// Inside a transaction this reader already holds a connection:
		// preparing would wait for another one (see rstmt).
		if st = r.s.cachedStmt(q); st == nil && r.missed != nil {
			*r.missed = append(*r.missed, q)
		}
	} else {
		var err error
		if st, err = r.s.rstmt(q); err != nil {
			return nil, err
		}
	}
	switch {
	case st != nil && r.tx != nil:
		return r.tx.StmtContext(r.ctx, st).QueryContext(r.ctx, args...)
	case st != nil:
		return st.QueryContext(r.ctx, args...)
	case r.tx != nil:
		return r.tx.QueryContext(r.ctx, q, args...)
	default:
		return r.s.rdb.QueryContext(r.ctx, q, args...)
	}
}

// queryRow runs q and scans its first row into dest; sql.ErrNoRows if
// there is none.
func (r reader) queryRow(q string, args []any, dest ...any) error {
	rows, err := r.query(q, args...)
	if err != nil {
		return err
	}
	return scanOne(rows, dest...)
}
