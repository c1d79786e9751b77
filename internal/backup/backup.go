// Package backup takes consistent online backups of a mailhouse store,
// verifies them, and restores one into a stopped server's data folder.
//
// A backup is a folder: the database copy (mailhouse.db: message
// bodies live in it beside their metadata), a copy of the config file
// when one is given, and manifest.json, written last, with the counts,
// sizes and SHA-256 of every file. A folder without a manifest is an
// unfinished backup and is refused.
//
// Backup works while the server runs (store.Ops.Backup reads one
// snapshot and never blocks deliveries). Verify and Restore work on
// files: they are specific to the embedded SQLite store, which is why
// this package, unlike the protocol packages, uses sqlstore directly.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"mailhouse/internal/store"
)

// File names inside a backup folder.
const (
	DatabaseFile = "mailhouse.db"
	ConfigFile   = "mailhouse.toml"
	ManifestFile = "manifest.json"
	// Format names the manifest format.
	Format = "mailhouse-backup/1"
)

// Manifest describes a backup; it is the last file written.
type Manifest struct {
	Format   string       `json:"format"`
	Created  time.Time    `json:"created"` // the snapshot's moment
	Hostname string       `json:"hostname,omitempty"`
	Version  string       `json:"mailhouse_version,omitempty"`
	Counts   store.Counts `json:"counts"`
	Files    []File       `json:"files"`
	// Clean is whether the copy passed the store check when taken.
	Clean    bool            `json:"clean"`
	Problems []store.Problem `json:"problems,omitempty"`
}

// File is one file of a backup.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Options configure Create.
type Options struct {
	// Store is the running store; it must implement store.Ops.
	Store store.Store
	// Dir is the backup folder: it must not exist, or be empty.
	Dir string
	// ConfigPath, if set, is copied into the backup for reference.
	ConfigPath string
	Hostname   string
	Version    string
	Logger     *slog.Logger
}

// Create takes a backup into o.Dir while the store serves.
func Create(ctx context.Context, o Options) (Manifest, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ops, ok := o.Store.(store.Ops)
	if !ok {
		return Manifest{}, fmt.Errorf("backup: this store cannot take backups")
	}
	if err := prepareDir(o.Dir); err != nil {
		return Manifest{}, err
	}
	info, err := ops.Backup(ctx, filepath.Join(o.Dir, DatabaseFile))
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{
		Format: Format, Created: info.Taken.UTC(), Hostname: o.Hostname, Version: o.Version,
		Counts: info.Check.Counts, Clean: info.Check.Clean(), Problems: info.Check.Problems,
	}
	names := []string{DatabaseFile}
	if o.ConfigPath != "" {
		if err := copyFile(o.ConfigPath, filepath.Join(o.Dir, ConfigFile), 0o600); err != nil {
			return Manifest{}, fmt.Errorf("backup: config: %w", err)
		}
		names = append(names, ConfigFile)
	}
	for _, n := range names {
		f, err := describe(filepath.Join(o.Dir, n))
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		m.Files = append(m.Files, f)
	}
	if err := writeManifest(o.Dir, m); err != nil {
		return Manifest{}, err
	}
	o.Logger.Info("backup taken", "dir", o.Dir, "messages", m.Counts.Messages, "bytes", m.Files[0].Size, "clean", m.Clean)
	return m, nil
}

// prepareDir creates dir, or accepts it if it exists and is empty.
func prepareDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		return syncDir(filepath.Dir(filepath.Clean(dir)))
	case err != nil:
		return fmt.Errorf("backup: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("backup: %s is not empty (each backup needs a new folder)", dir)
	}
	return nil
}

// describe hashes a file.
func describe(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(path), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeManifest writes manifest.json through a temporary name, fsynced,
// so that it appears whole or not at all.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := writeFileSync(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	return syncDir(dir)
}

// ReadManifest reads a backup's manifest.
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, fmt.Errorf("%s has no %s: not a backup, or an unfinished one", dir, ManifestFile)
	}
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("%s: format %q is not %q", ManifestFile, m.Format, Format)
	}
	return m, nil
}

func writeFileSync(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyFile copies src to a new file dst, fsynced.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

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
