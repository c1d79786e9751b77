package sqlcore

import (
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one schema version: a file NNNN_what.sql of a backend's
// migrations folder. The backends keep their own files (the SQL differs)
// with the same version numbers and meaning.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads and checks the migrations/*.sql files of fsys, in
// order: numbered from 1 without gaps. A released file is never edited:
// a change is a new file.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(base, ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions start at 1, without gaps or duplicates)", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrator is the transaction a migration runs in.
type Migrator interface {
	Exec(q string, args ...any) (int64, error)
	QueryRow(q string, args []any, dest ...any) error
}

// Migrate applies the pending migrations of fsys on x, recording each
// applied version in schema_version. x is one transaction that the
// backend holds alone (SQLite's write lock, PostgreSQL's advisory lock),
// taken before the current version is read, so that two processes
// opening the same new database cannot both apply a migration. A
// database newer than this program is refused.
func Migrate(x Migrator, fsys fs.FS, d Dialect, log *slog.Logger) error {
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := x.Exec(`CREATE TABLE IF NOT EXISTS schema_version (
		version integer PRIMARY KEY,
		name    text    NOT NULL,
		applied bigint  NOT NULL -- unix nanoseconds
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := x.QueryRow("SELECT coalesce(max(version), 0) FROM schema_version", nil, &cur); err != nil {
		return fmt.Errorf("migrate: reading schema version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d): upgrade mailhouse", cur, len(ms))
	}
	for _, m := range ms[cur:] {
		if _, err := x.Exec(m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := x.Exec("INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		log.Info(d.Name+": applied schema migration", "version", m.Version, "name", m.Name)
	}
	return nil
}
