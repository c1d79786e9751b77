package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
)

// ErrInUse: the database to replace is open (the server runs).
var ErrInUse = sqlstore.ErrInUse

// Verify checks a backup folder without changing it: every file's size
// and SHA-256 against the manifest, then the database copy with the
// store check, and its counts against the manifest.
func Verify(ctx context.Context, dir string) (Manifest, store.CheckReport, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return m, store.CheckReport{}, err
	}
	hasDB := false
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return m, store.CheckReport{}, fmt.Errorf("%s names file %q outside the backup", ManifestFile, f.Name)
		}
		got, err := describe(filepath.Join(dir, f.Name))
		if err != nil {
			return m, store.CheckReport{}, fmt.Errorf("backup damaged: %w", err)
		}
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return m, store.CheckReport{}, fmt.Errorf("backup damaged: %s is %d bytes with SHA-256 %s; the manifest says %d bytes, %s",
				f.Name, got.Size, got.SHA256, f.Size, f.SHA256)
		}
		hasDB = hasDB || f.Name == DatabaseFile
	}
	if !hasDB {
		return m, store.CheckReport{}, fmt.Errorf("%s lists no %s", ManifestFile, DatabaseFile)
	}
	rep, err := sqlstore.CheckFile(ctx, filepath.Join(dir, DatabaseFile), store.CheckOptions{})
	if err != nil {
		return m, rep, err
	}
	if rep.Counts != m.Counts {
		return m, rep, fmt.Errorf("backup damaged: the database holds %v; the manifest says %v", rep.Counts, m.Counts)
	}
	return m, rep, nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Dir is the backup folder.
	Dir string
	// DBPath is the server's database file (data_dir/mailhouse.db).
	DBPath string
	// Force restores a backup whose check found problems.
	Force  bool
	Logger *slog.Logger
	Now    func() time.Time
}

// Restored says what Restore did.
type Restored struct {
	Manifest Manifest
	// Previous is where the database that was replaced now is ("" when
	// there was none). It is kept, never deleted.
	Previous string
}

// Restore replaces the database at o.DBPath with the backup's copy. The
// server must be stopped: Restore refuses (ErrInUse) while any process
// has the database open, which SQLite's exclusive lock tells reliably.
// The database it replaces is renamed aside, never deleted; the new one
// is written under a temporary name, fsynced, and renamed into place, so
// a crash leaves either the old database or the new one.
func Restore(ctx context.Context, o RestoreOptions) (Restored, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var res Restored
	m, rep, err := Verify(ctx, o.Dir)
	if err != nil {
		return res, err
	}
	res.Manifest = m
	if !rep.Clean() && !o.Force {
		return res, fmt.Errorf("the backup's check found %d problems (first: %s); restore it anyway with --force",
			len(rep.Problems), rep.Problems[0])
	}
	exists := false
	if _, err := os.Stat(o.DBPath); err == nil {
		exists = true
		// Refuse while in use; otherwise fold its WAL in, so that the file
		// moved aside is whole.
		if err := sqlstore.Quiesce(ctx, o.DBPath); err != nil {
			return res, fmt.Errorf("restore: %s: %w", o.DBPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(o.DBPath), 0o750); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	tmp := o.DBPath + ".restoring"
	_ = os.Remove(tmp) // a leftover of an interrupted restore
	if err := copyFile(filepath.Join(o.Dir, DatabaseFile), tmp, 0o600); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if exists {
		res.Previous = o.DBPath + ".before-restore-" + o.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(o.DBPath, res.Previous); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
	}
	// -wal and -shm files belong to the database moved aside: a -wal
	// left beside the new file would be replayed into it.
	for _, sfx := range []string{"-wal", "-shm", "-journal"} {
		p := o.DBPath + sfx
		if _, err := os.Stat(p); err == nil {
			dst := p + ".stale"
			if res.Previous != "" {
				dst = res.Previous + sfx
			}
			if err := os.Rename(p, dst); err != nil {
				return res, fmt.Errorf("restore: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, o.DBPath); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(filepath.Dir(o.DBPath)); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	o.Logger.Info("restored", "from", o.Dir, "to", o.DBPath, "taken", m.Created, "messages", m.Counts.Messages, "previous", res.Previous)
	return res, nil
}
