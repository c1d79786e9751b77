package sqlstore

import (
	"context"
	"errors"
	"os"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// The store's logic (every query and the Go around it) is shared with
// pgstore in sqlcore; this file gives it SQLite: the committer's write
// transactions, the read pool and the SQLite spelling of what differs.

// core is embedded unexported: its methods make Store a store.Store and
// the optional interfaces below.
type core = sqlcore.Core

var (
	_ store.Admin       = (*Store)(nil)
	_ store.BatchReader = (*Store)(nil)
	_ store.DKIMKeys    = (*Store)(nil)
	_ store.Limits      = (*Store)(nil)
	_ store.Queue       = (*Store)(nil)
	_ store.Sync        = (*Store)(nil)
)

// dialect is SQLite's SQL for sqlcore: one writer at a time, so no row
// locks.
func dialect() sqlcore.Dialect {
	return sqlcore.Dialect{
		Name:              "sqlstore",
		Greatest:          "max",
		Least:             "min",
		IntsFromJSON:      "SELECT value FROM json_each(?)",
		Instr:             "instr",
		IsUniqueViolation: isUniqueViolation,
		Checks:            sqliteChecks(),
		StoreBytes:        storeBytes,
	}
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// storeBytes is the size of the database file and its WAL.
func storeBytes(_ context.Context, q sqlcore.Querier) (int64, error) {
	path, err := dbPathOf(q)
	if err != nil {
		return 0, nil // an in-memory database has no size on disk
	}
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}

// backend runs sqlcore's reads and writes on a Store.
type backend struct{ s *Store }

func (b backend) Write(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return b.s.write(ctx, func(w *wtx) error { return fn(w) })
}

func (b backend) Read(ctx context.Context, fn func(sqlcore.Querier) error) error {
	return b.s.read(ctx, func(r reader) error { return fn(r) })
}

func (b backend) ReadTx(ctx context.Context, fn func(sqlcore.Querier) error) error {
	return b.s.readTx(ctx, func(r reader) error { return fn(r) })
}

// sqlcore.Tx on the committer's transaction.

func (w *wtx) Exec(q string, args ...any) (int64, error) { return w.execN(q, args...) }

func (w *wtx) Insert(q string, args ...any) (int64, error) {
	r, err := w.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return r.LastInsertId()
}

func (w *wtx) Query(q string, args ...any) (sqlcore.Rows, error) {
	rows, err := w.query(q, args...)
	if err != nil {
		return nil, err // not a nil *sql.Rows in a non-nil interface
	}
	return rows, nil
}

func (w *wtx) QueryRow(q string, args []any, dest ...any) error { return w.queryRow(q, args, dest...) }

func (w *wtx) Event(ev store.Event) { w.event(ev) }

// sqlcore.Querier on the read pool.

func (r reader) Query(q string, args ...any) (sqlcore.Rows, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (r reader) QueryRow(q string, args []any, dest ...any) error {
	return r.queryRow(q, args, dest...)
}

// maintain runs the expunge history's age limit until Close.
func (s *Store) maintain() {
	defer close(s.maintDone)
	sqlcore.Maintain(s.core, s.maintStop)
}
