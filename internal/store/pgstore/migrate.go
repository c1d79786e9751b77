package pgstore

import (
	"context"
	"embed"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mailhouse/internal/store/sqlcore"
)

// migrationFiles are the schema versions, named NNNN_what.sql and numbered
// from 1 without gaps, with the same numbers and meaning as sqlstore's
// (the PostgreSQL spelling). A released file is never edited: a change is
// a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key that serialises migrations
// between nodes starting at once.
const migrationLock = 0x6d61696c686f7573 // "mailhous"

// migrate applies the pending migrations in one transaction
// (sqlcore.Migrate), under a transaction-level advisory lock so that
// nodes starting together apply each migration once.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return sqlcore.Migrate(txMigrator{ctx: ctx, tx: tx}, migrationFiles, dialect(), log)
	})
}

// txMigrator runs a migration's statements in its transaction. A
// migration file goes as it is (no placeholders to rebind: a "?" in it
// is text).
type txMigrator struct {
	ctx context.Context
	tx  pgx.Tx
}

func (m txMigrator) Exec(q string, args ...any) (int64, error) {
	if len(args) > 0 {
		q = rebind(q)
	}
	t, err := m.tx.Exec(m.ctx, q, args...)
	return t.RowsAffected(), err
}

func (m txMigrator) QueryRow(q string, args []any, dest ...any) error {
	return m.tx.QueryRow(m.ctx, rebind(q), args...).Scan(dest...)
}
