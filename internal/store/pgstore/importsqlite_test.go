package pgstore

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/store/sqlstore"
)

// TestImportSQLite fills a SQLite store through the interfaces, imports
// it, and checks through the interfaces that PostgreSQL serves the same
// mailboxes: UIDVALIDITY, UIDs, modseqs, flags, bytes, queue and keys.
func TestImportSQLite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mailhouse.db")
	src, err := sqlstore.Open(ctx, sqlstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	acc, in := mustAccount(t, src, "alice@example.test")
	bob, bin := mustAccount(t, src, "bob@example.test")
	for i := range 20 {
		if _, err := src.Deliver(ctx, store.Delivery{Body: msg(i), Parsed: []byte("p"),
			Targets: []store.Target{{Mailbox: in.ID, Prefix: []byte("Delivered-To: alice\r\n")}, {Mailbox: bin.ID, Flags: []string{"$Junk"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.UpdateFlags(ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{2, 3}, Op: store.FlagsAdd, Flags: []string{store.FlagSeen}}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Expunge(ctx, in.ID, []store.UID{5, 6}); err != nil {
		t.Fatal(err)
	}
	if err := src.AddAlias(ctx, store.Alias{Address: "info@example.test", Targets: []string{"alice@example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.QueueAdd(ctx, store.NewQueueEntry{From: "alice@example.test", To: []string{"x@example.org"}, Data: msg(99)}); err != nil {
		t.Fatal(err)
	}
	if err := src.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.test", Selector: "s1", Algorithm: "ed25519", PrivateKey: []byte("key")}); err != nil {
		t.Fatal(err)
	}
	if err := src.SetAdmin(ctx, "alice@example.test", true); err != nil {
		t.Fatal(err)
	}
	src.Close()

	dsn := pgtest.Start(t).NewDB(t)
	rep, err := ImportSQLite(ctx, path, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Messages != 38 || rep.Counts.Bodies != 20 || rep.Counts.Accounts != 2 {
		t.Errorf("counts %v", rep.Counts)
	}
	if _, err := ImportSQLite(ctx, path, dsn); err == nil {
		t.Error("a second import into a non-empty database succeeded")
	}

	src, err = sqlstore.Open(ctx, sqlstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := openTest(t, dsn)
	for _, a := range []store.AccountID{acc.ID, bob.ID} {
		sm, err1 := src.ListMailboxes(ctx, a)
		dm, err2 := dst.ListMailboxes(ctx, a)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(sm, dm) {
			t.Fatalf("mailboxes differ:\n%+v\n%+v (%v %v)", sm, dm, err1, err2)
		}
		for _, m := range sm {
			s1, _ := src.MailboxStatus(ctx, m.ID)
			s2, _ := dst.MailboxStatus(ctx, m.ID)
			if s1 != s2 {
				t.Errorf("status of %s: %+v vs %+v", m.Name, s1, s2)
			}
			l1, _ := src.ListMessages(ctx, m.ID)
			l2, _ := dst.ListMessages(ctx, m.ID)
			if fmt.Sprint(l1) != fmt.Sprint(l2) {
				t.Errorf("messages of %s differ:\n%v\n%v", m.Name, l1, l2)
			}
			for _, mm := range l1 {
				b1, _ := src.ReadMessage(ctx, m.ID, mm.UID)
				b2, err := dst.ReadMessage(ctx, m.ID, mm.UID)
				if err != nil || !bytes.Equal(b1, b2) {
					t.Errorf("message %d: %v", mm.UID, err)
				}
			}
		}
	}
	// The copy keeps working: new UIDs continue after the old ones, and a
	// body shared by both accounts survives one side's expunge.
	d, err := dst.Deliver(ctx, store.Delivery{Body: msg(100), Targets: []store.Target{{Mailbox: in.ID}}})
	if err != nil || d[0].UID != 21 {
		t.Fatalf("delivery after import: %+v %v", d, err)
	}
	if _, err := dst.Expunge(ctx, in.ID, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.ReadMessage(ctx, bin.ID, 1); err != nil {
		t.Fatalf("bob's copy of a shared body: %v", err)
	}
	if q, _ := dst.QueueList(ctx); len(q) != 1 {
		t.Errorf("queue: %v", q)
	}
	if f, _ := dst.AccountFlags(ctx, "alice@example.test"); !f.Admin {
		t.Error("admin flag lost")
	}
	if _, err := dst.AddDomain(ctx, "new.test"); err != nil {
		t.Fatalf("identity sequence not advanced: %v", err)
	}
}
