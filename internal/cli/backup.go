package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"mailhouse/internal/backup"
	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

// Backup, restore and check: `mailhouse backup DIR` while the server
// runs, `mailhouse restore DIR` with it stopped, `mailhouse check` at
// any time.

// dbPath is the store's database file. It must name the file
// internal/app.OpenStore opens.
func dbPath(cfg *config.Config) string { return cfg.DataPath("mailhouse.db") }

// Backup is `mailhouse backup DIR`.
func Backup(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "backup", "DIR",
		"Takes a consistent copy of the whole store (accounts, mailboxes, messages, queue, keys) into\n"+
			"the new or empty folder DIR while the server runs, with the config file and a manifest of\n"+
			"counts and SHA-256 sums. Every message accepted before it starts is in it.")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := LoadConfig(*cfg)
	if err != nil {
		return err
	}
	st, err := env.OpenStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	m, err := backup.Create(ctx, backup.Options{
		Store: st, Dir: pos[0], ConfigPath: config.ConfigPath(*cfg), Hostname: c.Hostname,
	})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(env.Stdout, "backup written to %s in %s: %v\n", pos[0], time.Since(start).Round(time.Millisecond), m.Counts)
	if !m.Clean {
		fmt.Fprintf(env.Stdout, "warning: the store check found %d problems (copied as they are); run mailhouse check\n", len(m.Problems))
	}
	return nil
}

// Restore is `mailhouse restore DIR [--force]`.
func Restore(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "restore", "DIR [--force]",
		"Verifies the backup in DIR (SHA-256 sums, store check, counts) and puts it in place of the\n"+
			"store. The server must be stopped: restore refuses while the database is open. The database\n"+
			"it replaces is kept beside it (mailhouse.db.before-restore-TIME), never deleted.")
	force := fs.Bool("force", false, "restore even if the backup's store check found problems")
	pos, err := ParseN(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := LoadConfig(*cfg)
	if err != nil {
		return err
	}
	res, err := backup.Restore(context.Background(), backup.RestoreOptions{Dir: pos[0], DBPath: dbPath(c), Force: *force})
	if errors.Is(err, backup.ErrInUse) {
		return fmt.Errorf("restore: %w: stop the server first (systemctl stop mailhouse)", err)
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(env.Stdout, "restored the backup taken %s: %v\n", res.Manifest.Created.Local().Format(time.RFC1123), res.Manifest.Counts)
	if res.Previous != "" {
		fmt.Fprintf(env.Stdout, "the database it replaced is kept at %s\n", res.Previous)
	}
	return nil
}

// Check is `mailhouse check [--repair] [--quick] [--backup DIR] [--json]`.
func Check(env *Env, args []string) error {
	fs, cfg := NewFlagSet(env, "check", "[--repair] [--quick] [--backup DIR] [--json]",
		"Verifies the store: SQLite's integrity check, every message's body present and of its size,\n"+
			"mailbox counters, UIDNEXT and HIGHESTMODSEQ against the messages, no orphaned bodies. It\n"+
			"changes nothing unless --repair. Safe while the server runs. With --backup it verifies a\n"+
			"backup folder instead (SHA-256 sums, then the same check).")
	repair := fs.Bool("repair", false, "fix what can be fixed")
	quick := fs.Bool("quick", false, "skip the page-level integrity check (the slowest part)")
	dir := fs.String("backup", "", "verify the backup in this folder instead of the store")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	_, err := ParseN(fs, args, 0)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rep store.CheckReport
	if *dir != "" {
		if *repair {
			return errors.New("check: a backup is never repaired; restore it and check the store")
		}
		var m backup.Manifest
		m, rep, err = backup.Verify(ctx, *dir)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		if !*asJSON {
			fmt.Fprintf(env.Stdout, "backup taken %s: every file matches its SHA-256 sum\n", m.Created.Local().Format(time.RFC1123))
		}
	} else {
		err = withStore(env, *cfg, func(st store.Store) error {
			ops, ok := st.(store.Ops)
			if !ok {
				return errors.New("this store cannot be checked")
			}
			rep, err = ops.Check(ctx, store.CheckOptions{Repair: *repair, Quick: *quick})
			return err
		})
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "checked %v\n", rep.Counts)
		for _, p := range rep.Problems {
			fmt.Fprintf(env.Stdout, "  %v\n", p)
		}
	}
	left := 0
	for _, p := range rep.Problems {
		if !p.Repaired {
			left++
		}
	}
	switch {
	case left > 0:
		return fmt.Errorf("check: %d problems found", left)
	case *asJSON:
	case len(rep.Problems) > 0:
		fmt.Fprintln(env.Stdout, "every problem found was repaired")
	default:
		fmt.Fprintln(env.Stdout, "no problems found")
	}
	return nil
}
