package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// The store's logic (every query and the Go around it) is shared with
// sqlstore in sqlcore; this file gives it PostgreSQL: retried write
// transactions whose events go to the notifier, reads on the pool, and
// the PostgreSQL spelling of what differs. Queries keep sqlcore's "?"
// placeholders until rebind.

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

// dialect is PostgreSQL's SQL for sqlcore: several writers at once (on
// every node), so the rows a write goes on to change are locked.
func dialect() sqlcore.Dialect {
	return sqlcore.Dialect{
		Name:              "pgstore",
		Greatest:          "GREATEST",
		Least:             "LEAST",
		IntsFromJSON:      "SELECT value::bigint FROM json_array_elements_text(?::json)",
		Instr:             "strpos",
		ForUpdate:         " FOR UPDATE",
		SkipLocked:        " FOR UPDATE SKIP LOCKED",
		IsUniqueViolation: isUniqueViolation,
		StoreBytes:        storeBytes,
	}
}

// storeBytes is the database's size on disk (the nodes have no store
// files).
func storeBytes(_ context.Context, q sqlcore.Querier) (int64, error) {
	var n int64
	err := q.QueryRow("SELECT pg_database_size(current_database())", nil, &n)
	return n, err
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

// rows is a pgx.Rows as a sqlcore.Rows (whose Close reports the error).
type rows struct{ pgx.Rows }

func (r rows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

func wrapRows(r pgx.Rows, err error) (sqlcore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// sqlcore.Tx on a write transaction.

func (w *wtx) Exec(q string, args ...any) (int64, error) { return w.execN(q, args...) }

func (w *wtx) Insert(q string, args ...any) (int64, error) {
	var id int64
	err := w.queryRow(q+" RETURNING id", args, &id)
	return id, err
}

func (w *wtx) Query(q string, args ...any) (sqlcore.Rows, error) {
	return wrapRows(w.query(q, args...))
}

func (w *wtx) QueryRow(q string, args []any, dest ...any) error { return w.queryRow(q, args, dest...) }

func (w *wtx) Event(ev store.Event) { w.event(ev) }

// sqlcore.Querier on the pool or a read transaction.

func (r reader) Query(q string, args ...any) (sqlcore.Rows, error) {
	return wrapRows(r.query(q, args...))
}

func (r reader) QueryRow(q string, args []any, dest ...any) error {
	return r.queryRow(q, args, dest...)
}

// maintain runs the expunge history's age limit until Close.
func (s *Store) maintain() {
	defer close(s.maintDone)
	sqlcore.Maintain(s.core, s.maintStop)
}
