package pgstore

import (
	"path/filepath"
	"testing"

	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/sqlstore"
)

// TestImportSQLiteKeepsIDsUnused: an account and a mailbox deleted in
// SQLite before the move (the newest of each) keep their ids to
// themselves in PostgreSQL: the identity sequences start past SQLite's
// high-water marks, not past the largest id copied.
func TestImportSQLiteKeepsIDsUnused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mailhouse.db")
	src, err := sqlstore.Open(ctx, sqlstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := mustAccount(t, src, "alice@example.test")
	bob, bobIn := mustAccount(t, src, "bob@example.test")
	extra, err := src.CreateMailbox(ctx, alice.ID, "Extra", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.DeleteAccount(ctx, bob.Address); err != nil {
		t.Fatal(err)
	}
	if err := src.DeleteMailbox(ctx, alice.ID, "Extra"); err != nil {
		t.Fatal(err)
	}
	src.Close()

	dsn := pgtest.Start(t).NewDB(t)
	if _, err := ImportSQLite(ctx, path, dsn); err != nil {
		t.Fatal(err)
	}
	dst, err := Open(ctx, Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	carol, carolIn := mustAccount(t, dst, "carol@example.test")
	if carol.ID <= bob.ID {
		t.Errorf("account created after the import got id %d; deleted bob had %d", carol.ID, bob.ID)
	}
	if carolIn.ID <= max(bobIn.ID, extra.ID) {
		t.Errorf("mailbox created after the import got id %d; deleted ones had %d and %d", carolIn.ID, bobIn.ID, extra.ID)
	}
}
