package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
	"mailhouse/internal/store/storetest"
)

// testStore adds the storetest.Inspector window to a Store.
type testStore struct{ *Store }

func (s testStore) CountBodies(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(r reader) error {
		return r.queryRow("SELECT count(*) FROM bodies", nil, &n)
	})
	return n, err
}

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return testStore{openTest(t, filepath.Join(t.TempDir(), "mail.db"))}
	})
}

// checkIntegrity verifies what the schema's triggers maintain: mailbox
// counters match the rows, no message lacks its body, no body is orphaned,
// and SQLite's own checks pass.
func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	q := func(name, sql string) {
		t.Helper()
		var n int64
		if err := s.read(t.Context(), func(r reader) error { return r.queryRow(sql, nil, &n) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d", name, n)
		}
	}
	q("messages without body", `SELECT count(*) FROM messages m LEFT JOIN bodies b ON b.id = m.body_id WHERE b.id IS NULL`)
	q("orphaned bodies", `SELECT count(*) FROM bodies b WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.body_id = b.id)`)
	q("mailboxes with wrong counters", `SELECT count(*) FROM mailboxes x WHERE
		message_count != (SELECT count(*) FROM messages WHERE mailbox_id = x.id) OR
		message_bytes != (SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = x.id) OR
		unseen_count != (SELECT count(*) FROM messages WHERE mailbox_id = x.id AND instr(' ' || flags || ' ', ' \Seen ') = 0) OR
		expunged_count != (SELECT count(*) FROM expunged WHERE mailbox_id = x.id)`)
	q("sizes not prefix + body", `SELECT count(*) FROM messages m JOIN bodies b ON b.id = m.body_id WHERE m.size != length(m.prefix) + b.size OR b.size != length(b.data)`)
	q("messages above uidnext or highestmodseq", `SELECT count(*) FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id WHERE m.uid >= x.uidnext OR m.modseq > x.highestmodseq`)
	var res string
	if err := s.read(t.Context(), func(r reader) error { return r.queryRow("PRAGMA integrity_check", nil, &res) }); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q, %v", res, err)
	}
	var fk int
	err := s.read(t.Context(), func(r reader) error {
		rows, err := r.query("PRAGMA foreign_key_check")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			fk++
		}
		return rows.Err()
	})
	if err != nil || fk != 0 {
		t.Errorf("foreign_key_check: %d violations, %v", fk, err)
	}
}

// setup opens a store with one account and returns its INBOX.
func setup(t *testing.T, path string) (*Store, store.Account, store.Mailbox) {
	t.Helper()
	s := openTest(t, path)
	ctx := t.Context()
	if _, err := s.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, store.NewAccount{Address: "bob@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s, a, in
}

func deliverN(t *testing.T, s *Store, mb store.MailboxID, n int) []store.UID {
	t.Helper()
	var uids []store.UID
	for i := range n {
		out, err := s.Deliver(t.Context(), store.Delivery{
			Body:    fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i),
			Targets: []store.Target{{Mailbox: mb}},
		})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, out[0].UID)
	}
	return uids
}

// TestReopen: data and schema version survive Close and Open, and the
// migrations are not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, a, in := setup(t, path)
	uids := deliverN(t, s, in.ID, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	var versions int
	if err := s.read(t.Context(), func(r reader) error {
		return r.queryRow("SELECT count(*) FROM schema_version", nil, &versions)
	}); err != nil {
		t.Fatal(err)
	}
	ms, _ := sqlcore.LoadMigrations(migrationFiles)
	if versions != len(ms) {
		t.Errorf("schema_version has %d rows, want %d", versions, len(ms))
	}
	got, err := s.ListMessages(t.Context(), in.ID)
	if err != nil || len(got) != len(uids) {
		t.Fatalf("after reopen: %d messages, %v", len(got), err)
	}
	m, err := s.GetMailbox(t.Context(), a.ID, "INBOX")
	if err != nil || m.UIDNext != 4 || m.UIDValidity != in.UIDValidity {
		t.Errorf("INBOX after reopen: %+v, %v", m, err)
	}
	checkIntegrity(t, s)
}

// TestNewerSchema: a database from a newer mailhouse is refused, not
// damaged.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s := openTest(t, path)
	err := s.write(t.Context(), func(w *wtx) error {
		_, err := w.exec("INSERT INTO schema_version (version, name, applied) VALUES (999, 'future', 0)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(t.Context(), Options{Path: path}); err == nil {
		t.Fatal("Open accepted a newer schema")
	} else {
		t.Log(err)
	}
}

func TestLoadMigrationsChecksNames(t *testing.T) {
	ms, err := sqlcore.LoadMigrations(migrationFiles)
	if err != nil || len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("embedded migrations: %v, %v", ms, err)
	}
}

// TestGroupCommitIsolation: in one group, a failing write is rolled back
// alone and the others commit.
func TestGroupCommitIsolation(t *testing.T) {
	s, a, _ := setup(t, filepath.Join(t.TempDir(), "mail.db"))
	ctx := t.Context()
	// Hold the committer so that every write below joins one group.
	release := make(chan struct{})
	started := make(chan struct{})
	go s.write(ctx, func(w *wtx) error { close(started); <-release; return nil })
	<-started
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			name := fmt.Sprintf("box%d", i/2) // every second one collides
			_, errs[i] = s.CreateMailbox(ctx, a.ID, name, "")
		})
	}
	// A write that fails after changing rows: its changes must vanish.
	var bad error
	wg.Go(func() {
		bad = s.write(ctx, func(w *wtx) error {
			if _, err := w.exec("UPDATE mailboxes SET name = 'clobbered' WHERE account_id = ? AND name = 'INBOX'", a.ID); err != nil {
				return err
			}
			return errors.New("deliberate")
		})
	})
	time.Sleep(50 * time.Millisecond) // let them queue
	close(release)
	wg.Wait()
	if bad == nil || bad.Error() != "deliberate" {
		t.Errorf("failing write returned %v", bad)
	}
	okCount, exists := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			okCount++
		case errors.Is(err, store.ErrExists):
			exists++
		default:
			t.Error(err)
		}
	}
	if okCount != 20 || exists != 20 {
		t.Errorf("%d created, %d ErrExists; want 20 and 20", okCount, exists)
	}
	ms, err := s.ListMailboxes(ctx, a.ID)
	if err != nil || len(ms) != len(store.DefaultMailboxes)+20 {
		t.Fatalf("%d mailboxes, %v", len(ms), err)
	}
	for _, m := range ms {
		if m.Name == "clobbered" {
			t.Fatal("a failed write's change survived")
		}
	}
}

// TestPanicInWrite: a panicking write fails alone; the committer lives.
func TestPanicInWrite(t *testing.T) {
	s, _, in := setup(t, filepath.Join(t.TempDir(), "mail.db"))
	err := s.write(t.Context(), func(w *wtx) error { panic("boom") })
	if err == nil {
		t.Fatal("panicking write succeeded")
	}
	deliverN(t, s, in.ID, 1)
}

// TestExpungeHorizon: the expunge history is bounded per mailbox, and
// Changes says when since is older than what it remembers.
func TestExpungeHorizon(t *testing.T) {
	s, _, in := setup(t, filepath.Join(t.TempDir(), "mail.db"))
	ctx := t.Context()
	s.ExpungedKeep = 20
	uids := deliverN(t, s, in.ID, 60)
	h0 := in.HighestModSeq
	for _, u := range uids[:30] { // one expunge (one modseq) each
		if _, err := s.Expunge(ctx, in.ID, []store.UID{u}); err != nil {
			t.Fatal(err)
		}
	}
	var count, floor int64
	s.read(ctx, func(r reader) error {
		return r.queryRow("SELECT expunged_count, expunged_floor FROM mailboxes WHERE id = ?", []any{in.ID}, &count, &floor)
	})
	if count < 20 || count > 22 || floor == 0 {
		t.Errorf("after 30 expunges with a bound of 20: %d remembered, floor %d", count, floor)
	}
	c, err := s.Changes(ctx, in.ID, h0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExpungedIncomplete {
		t.Error("Changes from before the horizon does not say it is incomplete")
	}
	c, err = s.Changes(ctx, in.ID, store.ModSeq(floor))
	if err != nil {
		t.Fatal(err)
	}
	if c.ExpungedIncomplete || len(c.Expunged) != int(count) {
		t.Errorf("Changes(floor): incomplete %v, %d expunged, want complete and %d", c.ExpungedIncomplete, len(c.Expunged), count)
	}

	// The age limit.
	done, err := sqlcore.PruneExpungedBefore(ctx, s.core, time.Now().Add(time.Hour))
	if err != nil || !done {
		t.Fatal(done, err)
	}
	c, err = s.Changes(ctx, in.ID, 0)
	if err != nil || len(c.Expunged) != 0 || !c.ExpungedIncomplete {
		t.Errorf("after pruning by age: %v expunged, incomplete %v, %v", c.Expunged, c.ExpungedIncomplete, err)
	}
	checkIntegrity(t, s)
}

// TestIntegrityAfterSuiteLikeLoad runs a mix of operations and checks
// the triggers' bookkeeping against the rows.
func TestIntegrityAfterMixedLoad(t *testing.T) {
	s, a, in := setup(t, filepath.Join(t.TempDir(), "mail.db"))
	ctx := t.Context()
	uids := deliverN(t, s, in.ID, 30)
	arch, _ := s.GetMailbox(ctx, a.ID, "Archive")
	if _, err := s.UpdateFlags(ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids[:20], Op: store.FlagsAdd, Flags: []string{`\Seen`}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Copy(ctx, in.ID, uids[5:15], arch.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Move(ctx, in.ID, uids[10:25], arch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, in.ID, uids[:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, a.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "Archive"); err != nil {
		t.Fatal(err)
	}
	checkIntegrity(t, s)
}

// TestPragmas: the DSNs really set what durability and safety rest on.
func TestPragmas(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "mail.db"))
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"}
	err := s.write(t.Context(), func(w *wtx) error {
		for p, v := range want {
			var got string
			if err := w.queryRow("PRAGMA "+p, nil, &got); err != nil {
				return err
			}
			if got != v {
				t.Errorf("writer: PRAGMA %s = %s, want %s", p, got, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.read(t.Context(), func(r reader) error {
		for p, v := range map[string]string{"query_only": "1", "foreign_keys": "1", "journal_mode": "wal"} {
			var got string
			if err := r.queryRow("PRAGMA "+p, nil, &got); err != nil {
				return err
			}
			if got != v {
				t.Errorf("reader: PRAGMA %s = %s, want %s", p, got, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A reader cannot write, whatever a bug might try.
	err = s.read(t.Context(), func(r reader) error {
		_, err := r.s.rdb.ExecContext(r.ctx, "DELETE FROM domains")
		return err
	})
	if err == nil {
		t.Error("a read connection accepted a write")
	}
}
