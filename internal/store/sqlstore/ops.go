package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// store.Ops: online backup. Stats and Check are shared (sqlcore), with
// SQLite's own checks in check.go; file-level operations (a backup copy,
// restore) are in ops_file.go.

var _ store.Ops = (*Store)(nil)

// dbPath is the main database file, as SQLite opened it.
func (s *Store) dbPath(ctx context.Context) (string, error) {
	var path string
	err := s.read(ctx, func(r reader) error {
		var err error
		path, err = dbPathOf(r)
		return err
	})
	return path, err
}

// dbPathOf reads the main database file's path on q.
func dbPathOf(q sqlcore.Querier) (string, error) {
	rows, err := q.Query("PRAGMA database_list")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var path string
	for rows.Next() {
		var seq int
		var name, file string
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", err
		}
		if name == "main" {
			path = file
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if path == "" {
		return "", errors.New("sqlstore: the database has no file")
	}
	return path, nil
}

// Backup implements store.Ops with SQLite's VACUUM INTO: it reads one
// snapshot (a read transaction, so every commit before it is in the
// copy and none after), writes a compact copy and never blocks the
// writer, which goes on in the WAL. SQLite does not fsync the copy;
// Backup does, then checks the copy.
func (s *Store) Backup(ctx context.Context, path string) (store.BackupInfo, error) {
	info := store.BackupInfo{Path: path}
	if _, err := os.Lstat(path); err == nil {
		return info, fmt.Errorf("backup: %s: %w", path, fs.ErrExist)
	}
	src, err := s.dbPath(ctx)
	if err != nil {
		return info, err
	}
	// VACUUM INTO refuses a query_only connection, so it gets its own;
	// it only reads the database.
	p := url.Values{}
	p.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	db, err := sql.Open("sqlite", dsn(src, p))
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed {
		return info, store.ErrClosed
	}
	info.Taken = time.Now()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		_ = os.Remove(path)
		return info, fmt.Errorf("backup: VACUUM INTO %s: %w", path, err)
	}
	if err := syncFile(path); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	info.Size = st.Size()
	info.Check, err = CheckFile(ctx, path, store.CheckOptions{})
	if err != nil {
		return info, fmt.Errorf("backup: checking the copy: %w", err)
	}
	s.log.Info("sqlstore: backup written", "path", path, "bytes", info.Size, "messages", info.Check.Counts.Messages)
	return info, nil
}

// syncFile fsyncs a file and the folder that holds it, so that both its
// content and its name are on disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a folder, making the names created or renamed in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
