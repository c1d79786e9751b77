package sqlcore

import (
	"context"
	"log/slog"
	"time"

	"mailhouse/internal/store"
)

// Rows is a result set being read, as database/sql's *sql.Rows offers
// it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Querier is what a read runs on: one connection of the pool per query,
// or one read transaction (one snapshot).
type Querier interface {
	// Query runs q, written with "?" placeholders.
	Query(q string, args ...any) (Rows, error)
	// QueryRow runs q and scans its first row into dest; an error that
	// errors.Is sql.ErrNoRows if there is none.
	QueryRow(q string, args []any, dest ...any) error
}

// Tx is what a write function sees: its transaction, and a place to note
// the events its change causes, published once (and only if) it commits.
type Tx interface {
	Querier
	// Exec runs q and returns the number of rows it changed.
	Exec(q string, args ...any) (int64, error)
	// Insert runs an INSERT of one row into a table with an "id" key and
	// returns the new row's id.
	Insert(q string, args ...any) (int64, error)
	// Event notes a change for the feed.
	Event(ev store.Event)
}

// Backend is what a database offers the shared logic.
type Backend interface {
	// Write runs fn in one write transaction and commits it; nil means
	// committed and durable. fn may run more than once (a retried
	// serialization failure): it must only change the database through
	// its Tx.
	Write(ctx context.Context, fn func(Tx) error) error
	// Read runs fn with queries on the read pool.
	Read(ctx context.Context, fn func(Querier) error) error
	// ReadTx runs fn inside one read transaction: every query sees the
	// same committed state.
	ReadTx(ctx context.Context, fn func(Querier) error) error
}

// Core implements store.Store and the optional store interfaces that
// need nothing but SQL, on a Backend and its Dialect. A backend's Store
// type embeds it.
type Core struct {
	b   Backend
	d   Dialect
	log *slog.Logger

	// ExpungedKeep is the per-mailbox expunge history bound; a field so
	// that tests can cross it cheaply.
	ExpungedKeep int
}

// New returns the shared logic over b.
func New(b Backend, d Dialect, log *slog.Logger) *Core {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Core{b: b, d: d, log: log, ExpungedKeep: expungedKeep}
}

// wtx is a write function's view: the backend's Tx, with the helpers
// the logic shares. It gathers the function's events (coalescing them,
// see messagesEvent) and hands them to the Tx when the function has
// succeeded.
type wtx struct {
	Tx
	s      *Core
	events []store.Event
}

func (w *wtx) exec(q string, args ...any) (int64, error) { return w.Exec(q, args...) }

// execN runs q and returns the number of rows it changed.
func (w *wtx) execN(q string, args ...any) (int64, error) { return w.Exec(q, args...) }

func (w *wtx) insert(q string, args ...any) (int64, error) { return w.Insert(q, args...) }

func (w *wtx) query(q string, args ...any) (Rows, error) { return w.Query(q, args...) }

func (w *wtx) queryRow(q string, args []any, dest ...any) error { return w.QueryRow(q, args, dest...) }

func (w *wtx) event(ev store.Event) { w.events = append(w.events, ev) }

// reader is a read function's view.
type reader struct {
	Querier
	s *Core
}

func (r reader) query(q string, args ...any) (Rows, error) { return r.Query(q, args...) }

func (r reader) queryRow(q string, args []any, dest ...any) error {
	return r.QueryRow(q, args, dest...)
}

// rows runs q and calls fn for each row.
func (r reader) rows(q string, fn func(Rows) error, args ...any) error {
	return eachRow(r.Querier, q, fn, args...)
}

// first runs q and scans its first row with scan; the error of notFound
// if there is none.
func first[T any](r reader, notFound func() error, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	var zero T
	rows, err := r.query(q, args...)
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, err
		}
		return zero, notFound()
	}
	return scan(rows)
}

// all runs q and scans every row with scan.
func all[T any](r reader, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	var out []T
	err := r.rows(q, func(rows Rows) error {
		v, err := scan(rows)
		out = append(out, v)
		return err
	}, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRow runs q on qr and calls fn for each row.
func eachRow(qr Querier, q string, fn func(Rows) error, args ...any) error {
	rows, err := qr.Query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Core) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.b.Write(ctx, func(t Tx) error {
		w := &wtx{Tx: t, s: s}
		if err := fn(w); err != nil {
			return err
		}
		for _, ev := range w.events {
			t.Event(ev)
		}
		return nil
	})
}

func (s *Core) read(ctx context.Context, fn func(r reader) error) error {
	return s.b.Read(ctx, func(q Querier) error { return fn(reader{Querier: q, s: s}) })
}

func (s *Core) readTx(ctx context.Context, fn func(r reader) error) error {
	return s.b.ReadTx(ctx, func(q Querier) error { return fn(reader{Querier: q, s: s}) })
}

type scanner interface{ Scan(dest ...any) error }

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }
