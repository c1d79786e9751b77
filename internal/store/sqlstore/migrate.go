package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"mailhouse/internal/store/sqlcore"
)

// migrationFiles are the schema versions, named NNNN_what.sql and numbered
// from 1 without gaps, with the same numbers as pgstore's. A released
// file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the schema up to date in one transaction
// (sqlcore.Migrate). BEGIN IMMEDIATE takes the write lock before the
// current version is read, so two processes opening the same new
// database cannot both apply a migration. fsys holds the migrations;
// nil means migrationFiles (tests give fewer, to build an older schema).
//
// Migrations run with foreign_keys OFF and legacy_alter_table ON, as
// SQLite's procedure for rebuilding a table asks (ALTER TABLE
// documentation, section 7): with foreign keys enforced, DROP TABLE of a
// table being rebuilt would first delete every row referencing it, and a
// modern RENAME re-checks triggers of other tables that name the table
// while it does not exist. foreign_keys can only change outside a
// transaction, hence around it; before COMMIT, PRAGMA foreign_key_check
// must find nothing, so a migration cannot leave a dangling reference.
// Both are set back before migrate returns, on success or not: the
// connection is the store's writer for its whole life.
func migrate(ctx context.Context, c *sql.Conn, fsys fs.FS, log *slog.Logger) (err error) {
	if fsys == nil {
		fsys = migrationFiles
	}
	if _, err := c.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		// After COMMIT or ROLLBACK: outside any transaction, where the
		// pragma takes effect.
		if _, rerr := c.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("migrate: enforcing foreign keys again: %w", rerr))
		}
	}()
	if _, err := c.ExecContext(ctx, "PRAGMA legacy_alter_table = ON"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if _, rerr := c.ExecContext(context.Background(), "PRAGMA legacy_alter_table = OFF"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("migrate: %w", rerr))
		}
	}()

	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(context.Background(), "ROLLBACK") // the original error is the one to report
		}
	}()
	m := connMigrator{ctx: ctx, c: c}
	before, err := schemaVersion(m)
	if err != nil {
		return err
	}
	if err := sqlcore.Migrate(m, fsys, dialect(), log); err != nil {
		return err
	}
	after, err := schemaVersion(m)
	if err != nil {
		return err
	}
	if after != before {
		// A full scan of the referencing tables: only when a migration ran.
		if err := foreignKeyCheck(ctx, c); err != nil {
			return err
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion is the highest version applied, 0 for a new database.
func schemaVersion(m connMigrator) (int, error) {
	var n int
	if err := m.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", nil, &n); err != nil || n == 0 {
		return 0, err
	}
	var v int
	if err := m.QueryRow("SELECT coalesce(max(version), 0) FROM schema_version", nil, &v); err != nil {
		return 0, fmt.Errorf("migrate: reading schema version: %w", err)
	}
	return v, nil
}

// foreignKeyCheck fails if any row references a row that does not exist.
func foreignKeyCheck(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("migrate: foreign key check: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("migrate: foreign key check: %w", err)
		}
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("%s row %v -> %s", table, rowid.Int64, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: foreign key check: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("migrate: rows referencing missing rows after migrating (first %d): %v", len(bad), bad)
	}
	return nil
}

// connMigrator runs a migration's statements on the write connection.
type connMigrator struct {
	ctx context.Context
	c   *sql.Conn
}

func (m connMigrator) Exec(q string, args ...any) (int64, error) {
	r, err := m.c.ExecContext(m.ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (m connMigrator) QueryRow(q string, args []any, dest ...any) error {
	return m.c.QueryRowContext(m.ctx, q, args...).Scan(dest...)
}
