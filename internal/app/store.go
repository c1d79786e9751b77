package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore"
	"mailhouse/internal/store/sqlstore"
)

// OpenStore opens the store a config names: the embedded SQLite database
// in data_dir, or PostgreSQL with [store] driver = "postgres".
func OpenStore(cfg *config.Config, logger *slog.Logger) (store.Store, error) {
	if cfg.Store.StoreDriver() == config.StorePostgres {
		st, err := pgstore.Open(context.Background(), pgstore.Options{DSN: cfg.Store.DSN, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataPath(), 0o750); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: cfg.DataPath("mailhouse.db"), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return st, nil
}
