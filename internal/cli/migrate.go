package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"mailhouse/internal/store/pgstore"
)

// MigrateStore is `mailhouse migrate-store --from sqlite:PATH --to
// postgres:DSN`: it copies a whole installation from the SQLite store
// into an empty PostgreSQL database, keeping every ID, UID, UIDVALIDITY
// and modseq (IMAP clients keep their caches), and verifies the copy
// table by table by row count and SHA-256. Stop the server first; then
// set [store] driver = "postgres" and dsn in the config.
func MigrateStore(env *Env, args []string) error {
	fs, _ := NewFlagSet(env, "migrate-store", "--from sqlite:PATH --to postgres:DSN",
		"Copies the whole store (accounts, mailboxes, messages, queue, keys, audit log) from SQLite\n"+
			"into an empty PostgreSQL database in one transaction, then checks every table's row count\n"+
			"and checksum against the source. Stop the server while it runs.")
	from := fs.String("from", "", "source: sqlite:PATH (the data directory's mailhouse.db)")
	to := fs.String("to", "", "target: postgres:DSN, e.g. postgres:postgres://mail@db/mailhouse (DSN never printed)")
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	src, okSrc := cutPrefix(*from, "sqlite:")
	dsn, okDst := cutPrefix(*to, "postgres:")
	if len(pos) != 0 || !okSrc || !okDst || src == "" || dsn == "" {
		fs.Usage()
		return ErrUsage
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := pgstore.ImportSQLite(ctx, src, dsn)
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	for _, t := range rep.Tables {
		fmt.Fprintf(env.Stdout, "%-15s %8d rows  sha256 %x  ok\n", t.Table, t.Rows, t.Sum[:8])
	}
	fmt.Fprintf(env.Stdout, "copied and verified in %s: %v\n", time.Since(start).Round(time.Millisecond), rep.Counts)
	return nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}
