package pgstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mailhouse/internal/store"
)

// writeTimeout bounds one write once started (it no longer listens to its
// caller's context; see write).
const writeTimeout = 60 * time.Second

// maxRetries bounds how often a write is retried after a serialization
// failure or a deadlock; each retry runs the whole function again.
const maxRetries = 20

// wtx is what a write function sees: its transaction, and a place to note
// the events its change causes (handed to the notifier once, and only if,
// it commits; notifier.go).
type wtx struct {
	s      *Store
	ctx    context.Context
	tx     pgx.Tx
	events []store.Event
}

// write runs fn in one transaction and commits it. A nil error means fn's
// changes are committed (and, with synchronous_commit on, durable).
//
// If ctx has ended before the write starts, fn never runs and ctx.Err()
// is returned. Once started, the write runs to its end on a context of
// its own, so that a caller whose deadline passes mid-commit is never
// told "failed" for a change that committed.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := s.writeOnce(wctx, fn)
		if err == nil || !retryable(err) || attempt >= maxRetries {
			return err
		}
		// Back off a little, longer each time, so that the contenders of a
		// deadlock do not meet again at once.
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(w *wtx) error) (err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.Background()) // the first error is the one to report
		}
	}()
	w := &wtx{s: s, ctx: ctx, tx: tx}
	if err := s.call(fn, w); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	s.notifier.add(w.events)
	return nil
}

// call runs fn, turning a panic into an error.
func (s *Store) call(fn func(*wtx) error, w *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("pgstore: panic in write", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("pgstore: internal error: %v", r)
		}
	}()
	return fn(w)
}

// retryable reports errors after which the same write may succeed:
// serialization failures and deadlocks (PostgreSQL aborts one of the
// contenders).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// isUniqueViolation reports a unique constraint failure: two nodes
// creating the same name at once.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// rebind turns the "?" and "?N" placeholders the SQL in this package is
// written with (the same text as sqlstore's, where they can be shared)
// into PostgreSQL's "$N". The SQL here never holds a "?" in a literal.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		b.WriteByte('$')
		if j > i+1 {
			b.WriteString(q[i+1 : j])
			i = j - 1
		} else {
			n++
			b.WriteString(strconv.Itoa(n))
		}
	}
	return b.String()
}

func (w *wtx) exec(q string, args ...any) (pgconn.CommandTag, error) {
	return w.tx.Exec(w.ctx, rebind(q), args...)
}

// execN runs q and returns the number of rows it changed.
func (w *wtx) execN(q string, args ...any) (int64, error) {
	t, err := w.exec(q, args...)
	return t.RowsAffected(), err
}

func (w *wtx) query(q string, args ...any) (pgx.Rows, error) {
	return w.tx.Query(w.ctx, rebind(q), args...)
}

// queryRow runs q and scans its first row into dest; pgx.ErrNoRows if
// there is none.
func (w *wtx) queryRow(q string, args []any, dest ...any) error {
	return w.tx.QueryRow(w.ctx, rebind(q), args...).Scan(dest...)
}

// event notes a change to send when the transaction commits.
func (w *wtx) event(ev store.Event) {
	w.events = append(w.events, ev)
}

// querier is what readers run on: the pool, or one read transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// reader runs queries on the pool, alone or inside one read-only
// REPEATABLE READ transaction (one snapshot) when a method needs several
// consistent queries.
type reader struct {
	ctx context.Context
	q   querier
}

// read runs fn with queries on the pool.
func (s *Store) read(ctx context.Context, fn func(r reader) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return fn(reader{ctx: ctx, q: s.pool})
}

// readTx runs fn inside one read transaction: every query sees the same
// committed state.
func (s *Store) readTx(ctx context.Context, fn func(r reader) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("pgstore: begin read: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }() // read-only: nothing to lose
	return fn(reader{ctx: ctx, q: tx})
}

func (r reader) query(q string, args ...any) (pgx.Rows, error) {
	return r.q.Query(r.ctx, rebind(q), args...)
}

func (r reader) queryRow(q string, args []any, dest ...any) error {
	return r.q.QueryRow(r.ctx, rebind(q), args...).Scan(dest...)
}
