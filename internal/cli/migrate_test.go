package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/sqlstore"
)

// TestMigrateStore runs `mailhouse migrate-store` from a SQLite store
// into a private PostgreSQL and reads the account back there.
func TestMigrateStore(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mailhouse.db")
	src, err := sqlstore.Open(ctx, sqlstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	acc, err := src.AddAccount(ctx, store.NewAccount{Address: "alice@example.test", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := src.GetMailbox(ctx, acc.ID, "INBOX")
	if _, err := src.Deliver(ctx, store.Delivery{Body: []byte("Subject: hi\r\n\r\nhello\r\n"), Targets: []store.Target{{Mailbox: in.ID}}}); err != nil {
		t.Fatal(err)
	}
	src.Close()

	dsn := pgtest.Start(t).NewDB(t)
	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut}
	if err := MigrateStore(env, []string{"--from", "sqlite:" + path, "--to", "postgres:" + dsn}); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "messages") || !strings.Contains(out.String(), "1 messages") {
		t.Errorf("output:\n%s", out.String())
	}
	if strings.Contains(out.String(), dsn) {
		t.Error("the DSN was printed")
	}
	dst, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	msg, err := dst.ReadMessage(ctx, in.ID, 1)
	if err != nil || !bytes.Contains(msg, []byte("hello")) {
		t.Fatalf("message after migration: %q %v", msg, err)
	}
	if err := MigrateStore(env, []string{"--from", "sqlite:" + path}); err != ErrUsage {
		t.Errorf("without --to: %v", err)
	}
}
