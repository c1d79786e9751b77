package config

import "fmt"

// Store selects the storage backend.
//
//	[store]
//	driver = "postgres"   # "sqlite" (default): DataDir/mailhouse.db
//	dsn    = "postgres://mail:secret@db.internal/mailhouse?sslmode=verify-full"
//
// With "postgres" several mailhouse nodes can share one database (and
// its own replication and failover); the DSN may hold a password and is
// never logged.
type Store struct {
	Driver string `toml:"driver"`
	DSN    string `toml:"dsn"`
}

// Store drivers.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// StoreDriver is the configured driver, StoreSQLite when unset.
func (s Store) StoreDriver() string {
	if s.Driver == "" {
		return StoreSQLite
	}
	return s.Driver
}

// validateStore checks the [store] section; load.go's validate calls it.
func (c *Config) validateStore(bad func(key, format string, args ...any) error) error {
	switch c.Store.StoreDriver() {
	case StoreSQLite:
		if c.Store.DSN != "" {
			return bad("store.dsn", "is only for driver = %q (SQLite lives in data_dir)", StorePostgres)
		}
	case StorePostgres:
		if c.Store.DSN == "" {
			return bad("store.dsn", "must be set for driver = %q", StorePostgres)
		}
	default:
		return bad("store.driver", "%q is not %q or %q", c.Store.Driver, StoreSQLite, StorePostgres)
	}
	return nil
}

// ValidateStore is validateStore for callers outside load.go's validate
// (until it calls validateStore itself).
func (c *Config) ValidateStore() error {
	return c.validateStore(func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...))
	})
}
