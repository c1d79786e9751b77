package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// File-level operations on a database that no Store has open: checking a
// backup copy, and making a stopped server's database ready to be
// replaced by a restore.

// ErrInUse is returned by Quiesce when another connection (a running
// server, a CLI command) has the database open.
var ErrInUse = errors.New("the database is in use (is the server running?)")

// CheckFile checks the database file at path, read-only: a backup copy,
// which nothing writes. It never repairs (o.Repair is refused).
func CheckFile(ctx context.Context, path string, o store.CheckOptions) (store.CheckReport, error) {
	if o.Repair {
		return store.CheckReport{}, fmt.Errorf("check %s: a file is checked read-only: %w", path, store.ErrNotAllowed)
	}
	if _, err := os.Stat(path); err != nil {
		return store.CheckReport{}, fmt.Errorf("check: %w", err)
	}
	// immutable: the file does not change while we read it, so SQLite
	// takes no locks and needs no -shm beside it (the folder may be
	// read-only backup media).
	p := url.Values{}
	p.Set("mode", "ro")
	p.Set("immutable", "1")
	db, err := sql.Open("sqlite", dsn(path, p))
	if err != nil {
		return store.CheckReport{}, fmt.Errorf("check %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.CheckReport{}, fmt.Errorf("check %s: %w", path, err)
	}
	defer func() { _ = tx.Rollback() }()
	rep, err := sqlcore.CheckQuerier(ctx, txQuerier{ctx: ctx, tx: tx}, dialect(), o)
	if err != nil {
		return store.CheckReport{}, fmt.Errorf("check %s: %w", path, err)
	}
	return rep, nil
}

// Quiesce prepares the database at path, which must not be open
// anywhere, to be copied or replaced: it folds the WAL back into the
// database file, so that the file alone holds everything and the -wal
// and -shm files can go. It returns ErrInUse when another connection has
// the database open: SQLite's exclusive lock is refused while any other
// connection, in this process or another, holds the file.
func Quiesce(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	p := url.Values{}
	p.Set("_busy_timeout", "0")
	p.Add("_pragma", "locking_mode(EXCLUSIVE)")
	db, err := sql.Open("sqlite", dsn(path, p))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return wrapBusy(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return wrapBusy(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	// Holding the exclusive lock, nobody else can open it now; fold the
	// WAL in. Closing the last connection removes the -wal file.
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return wrapBusy(err)
	}
	if err := conn.Close(); err != nil {
		return err
	}
	return db.Close()
}

// wrapBusy turns SQLite's SQLITE_BUSY ("database is locked") into
// ErrInUse.
func wrapBusy(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return fmt.Errorf("%w: %v", ErrInUse, err)
	}
	return err
}

// txQuerier is a sqlcore.Querier on a transaction of a database no Store
// has open.
type txQuerier struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t txQuerier) Query(q string, args ...any) (sqlcore.Rows, error) {
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (t txQuerier) QueryRow(q string, args []any, dest ...any) error {
	return t.tx.QueryRowContext(t.ctx, q, args...).Scan(dest...)
}
