package pgstore

import (
	"errors"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
)

// TestOps: Stats counts what was delivered; Check finds a clean store
// clean, reports a damaged counter and an orphan body and repairs both
// (the same repairs as SQLite's, through the normal writer); Backup
// points to PostgreSQL's own tools.
func TestOps(t *testing.T) {
	srv := pgtest.Start(t)
	s, err := Open(t.Context(), Options{DSN: srv.NewDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var ops store.Ops = s
	_, in := mustAccount(t, s, "alice@example.test")
	mustAccount(t, s, "bob@example.test")
	for i := range 3 {
		if _, err := s.Deliver(ctx, store.Delivery{Body: msg(i), Targets: []store.Target{{Mailbox: in.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := ops.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Accounts) != 2 || st.Accounts[0].Address != "alice@example.test" || st.Accounts[0].Messages != 3 ||
		st.Accounts[0].Bytes != int64(3*len(msg(0))) || st.Accounts[1].Messages != 0 || st.StoreBytes <= 0 || st.QueueEntries != 0 {
		t.Fatalf("Stats = %+v", st)
	}

	rep, err := ops.Check(ctx, store.CheckOptions{})
	if err != nil || !rep.Clean() || rep.Counts.Messages != 3 || rep.Counts.Accounts != 2 || rep.Counts.SchemaVersion < 5 || len(rep.Checked) != 5 {
		t.Fatalf("fresh store: %+v %v", rep, err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE mailboxes SET message_count = 7 WHERE id = $1", in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO bodies (size, data) VALUES (3, 'abc')"); err != nil {
		t.Fatal(err)
	}
	rep, err = ops.Check(ctx, store.CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, p := range rep.Problems {
		kinds[p.Kind] = true
		if !p.Repairable || !p.Repaired {
			t.Errorf("not repaired: %v", p)
		}
	}
	if !kinds[store.ProblemCounters] || !kinds[store.ProblemOrphanBody] || len(rep.Problems) != 2 {
		t.Fatalf("damaged store: %v", rep.Problems)
	}
	rep, err = ops.Check(ctx, store.CheckOptions{})
	if err != nil || !rep.Clean() || rep.Counts.Bodies != 3 {
		t.Fatalf("after repair: %+v %v", rep, err)
	}
	var count int64
	if err := s.pool.QueryRow(ctx, "SELECT message_count FROM mailboxes WHERE id = $1", in.ID).Scan(&count); err != nil || count != 3 {
		t.Fatalf("repaired counter = %d, %v", count, err)
	}

	if _, err := ops.Backup(ctx, t.TempDir()+"/x.db"); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("Backup: %v", err)
	}
}
