package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// opsFixture is a store with one account holding a few messages.
func opsFixture(t *testing.T) (*Store, string, store.Mailbox) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mail.db")
	s := openTest(t, path)
	if _, err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, store.NewAccount{Address: "alice@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		body := fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, err := s.Deliver(ctx, store.Delivery{Body: body, Targets: []store.Target{{Mailbox: mb.ID, Prefix: []byte("X: y\r\n")}}}); err != nil {
			t.Fatal(err)
		}
	}
	return s, path, mb
}

// tamper opens a second, unchecked connection (foreign keys off) to
// damage the database as a bug or a disk could.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func kinds(r store.CheckReport) map[string]int {
	m := map[string]int{}
	for _, p := range r.Problems {
		if !p.Repaired {
			m[p.Kind]++
		}
	}
	return m
}

func TestCheckCleanStore(t *testing.T) {
	s, _, _ := opsFixture(t)
	rep, err := s.Check(t.Context(), store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("fresh store has problems: %v", rep.Problems)
	}
	if rep.Counts.Messages != 5 || rep.Counts.Accounts != 1 || rep.Counts.Mailboxes != len(store.DefaultMailboxes) {
		t.Errorf("counts = %+v", rep.Counts)
	}
	if len(rep.Checked) != 7 {
		t.Errorf("checked %v", rep.Checked)
	}
}

func TestCheckFindsAndRepairs(t *testing.T) {
	s, path, mb := opsFixture(t)
	ctx := t.Context()
	tamper(t, path,
		// counters off
		fmt.Sprintf("UPDATE mailboxes SET message_count = 99, unseen_count = 0 WHERE id = %d", mb.ID),
		// an orphan body
		"INSERT INTO bodies (size, data) VALUES (3, x'616263')",
		// a body whose recorded size lies
		"UPDATE bodies SET size = size + 1 WHERE id = (SELECT min(body_id) FROM messages)",
		// a message whose body vanished (possible only with foreign keys off)
		fmt.Sprintf("DELETE FROM bodies WHERE id = (SELECT body_id FROM messages WHERE mailbox_id = %d AND uid = 5)", mb.ID),
		// UIDNEXT gone backwards, which would reuse a UID
		fmt.Sprintf("UPDATE mailboxes SET uidnext = 3 WHERE id = %d", mb.ID),
	)
	rep, err := s.Check(ctx, store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(rep)
	for _, k := range []string{store.ProblemCounters, store.ProblemOrphanBody, store.ProblemBodySize, store.ProblemBodyMissing, store.ProblemUIDNext} {
		if got[k] == 0 {
			t.Errorf("check missed %s; found %v", k, rep.Problems)
		}
	}
	// Without --repair nothing changed.
	again, err := s.Check(ctx, store.CheckOptions{})
	if err != nil || len(again.Problems) != len(rep.Problems) {
		t.Fatalf("second check: %v, %d vs %d problems", err, len(again.Problems), len(rep.Problems))
	}

	events, cancel := s.Subscribe(mb.Account)
	defer cancel()
	fixed, err := s.Check(ctx, store.CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if !fixed.Clean() {
		t.Fatalf("repair left problems: %v", fixed.Problems)
	}
	after, err := s.Check(ctx, store.CheckOptions{})
	if err != nil || !after.Clean() {
		t.Fatalf("after repair: %v %v", err, after.Problems)
	}
	checkIntegrity(t, s)
	// The unreadable message was expunged the proper way: clients hear of it.
	ch, err := s.Changes(ctx, mb.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Messages) != 4 || len(ch.Expunged) != 1 || ch.Expunged[0] != 5 {
		t.Errorf("after repair: %d messages, expunged %v", len(ch.Messages), ch.Expunged)
	}
	select {
	case ev := <-events:
		if ev.Mailbox != mb.ID {
			t.Errorf("event for mailbox %d", ev.Mailbox)
		}
	case <-time.After(5 * time.Second):
		t.Error("no change event for the expunge")
	}
	// UIDNEXT is above every UID ever used, expunged ones included.
	m, _ := s.GetMailboxByID(ctx, mb.ID)
	if m.UIDNext != 6 {
		t.Errorf("UIDNEXT = %d, want 6", m.UIDNext)
	}
}

func TestBackupDuringWrites(t *testing.T) {
	s, _, mb := opsFixture(t)
	ctx := t.Context()
	var acked atomic.Int64
	acked.Store(5)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Deliver(context.Background(), store.Delivery{Body: fmt.Appendf(nil, "Subject: w%d\r\n\r\nx\r\n", i),
				Targets: []store.Target{{Mailbox: mb.ID}}}); err != nil {
				t.Error(err)
				return
			}
			acked.Add(1)
		}
	}()
	for acked.Load() < 50 {
		// let some writes land first
		runtime.Gosched()
	}
	before := acked.Load()
	path := filepath.Join(t.TempDir(), "copy.db")
	info, err := s.Backup(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !info.Check.Clean() {
		t.Fatalf("copy has problems: %v", info.Check.Problems)
	}
	if n := int64(info.Check.Counts.Messages); n < before {
		t.Errorf("copy has %d messages, %d were acked before the backup began", n, before)
	}
	if info.Size == 0 || info.Taken.IsZero() {
		t.Errorf("info = %+v", info)
	}
	if _, err := s.Backup(ctx, path); !errors.Is(err, os.ErrExist) {
		t.Errorf("backup over an existing file: %v", err)
	}
	rep, err := CheckFile(ctx, path, store.CheckOptions{})
	if err != nil || !rep.Clean() || rep.Counts != info.Check.Counts {
		t.Errorf("CheckFile: %v %v %+v", err, rep.Problems, rep.Counts)
	}
	if _, err := CheckFile(ctx, path, store.CheckOptions{Repair: true}); !errors.Is(err, store.ErrNotAllowed) {
		t.Errorf("CheckFile with Repair: %v", err)
	}
}

func TestQuiesce(t *testing.T) {
	s, path, _ := opsFixture(t)
	if err := Quiesce(t.Context(), path); !errors.Is(err, ErrInUse) {
		t.Fatalf("Quiesce while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Quiesce(t.Context(), path); err != nil {
		t.Fatalf("Quiesce after close: %v", err)
	}
	for _, suffix := range []string{"-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Size() > 0 {
			t.Errorf("%s left with %d bytes", suffix, fi.Size())
		}
	}
	rep, err := CheckFile(t.Context(), path, store.CheckOptions{})
	if err != nil || !rep.Clean() || rep.Counts.Messages != 5 {
		t.Errorf("after Quiesce: %v %v %+v", err, rep.Problems, rep.Counts)
	}
}

func TestStats(t *testing.T) {
	s, _, _ := opsFixture(t)
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Accounts) != 1 || st.Accounts[0].Messages != 5 || st.Accounts[0].Bytes == 0 {
		t.Errorf("accounts = %+v", st.Accounts)
	}
	if st.QueueEntries != 0 || !st.QueueOldest.IsZero() || st.StoreBytes == 0 {
		t.Errorf("stats = %+v", st)
	}
}
