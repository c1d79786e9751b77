package pgstore

import (
	"context"
	"fmt"

	"mailhouse/internal/store"
)

// store.Ops on PostgreSQL: Stats and Check (with its repairs, through the
// normal writer) are shared (sqlcore); Backup is not mailhouse's job here.

var _ store.Ops = (*Store)(nil)

// Backup implements store.Ops: it refuses. A PostgreSQL store is backed
// up with the database's own tools (pg_dump, or base backups and WAL
// archiving), which see every node's writes.
func (s *Store) Backup(ctx context.Context, path string) (store.BackupInfo, error) {
	return store.BackupInfo{}, fmt.Errorf("a PostgreSQL store is backed up with pg_dump or the cluster's base backups, not by mailhouse: %w", store.ErrNotAllowed)
}
