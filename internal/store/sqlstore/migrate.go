package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
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
// database cannot both apply a migration.
func migrate(ctx context.Context, c *sql.Conn, log *slog.Logger) (err error) {
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(context.Background(), "ROLLBACK") // the original error is the one to report
		}
	}()
	if err := sqlcore.Migrate(connMigrator{ctx: ctx, c: c}, migrationFiles, dialect(), log); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
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
