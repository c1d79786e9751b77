package pgstore

import (
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
)

// TestSweepCatchesLostNotification: a change committed without its
// NOTIFY (as when a node dies between the two) still reaches a
// subscriber on another node, by the sweep.
func TestSweepCatchesLostNotification(t *testing.T) {
	srv := pgtest.Start(t)
	s, err := Open(t.Context(), Options{DSN: srv.NewDB(t), FeedSweep: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc, in := mustAccount(t, s, "alice@example.test")
	ch, cancel := s.Subscribe(acc.ID)
	defer cancel()
	// Let the first sweep see the account (it reports everything once).
	time.Sleep(300 * time.Millisecond)
	for len(ch) > 0 {
		<-ch
	}
	var modseq store.ModSeq
	if err := s.pool.QueryRow(t.Context(), "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq", in.ID).Scan(&modseq); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev store.Event) bool {
		return ev.Kind == store.EventMessages && ev.Mailbox == in.ID && ev.ModSeq == modseq
	})
	if _, err := s.pool.Exec(t.Context(), "UPDATE mailboxes SET name = 'Renamed' WHERE id = $1", in.ID); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev store.Event) bool { return ev.Kind == store.EventMailboxes && ev.Account == acc.ID })
}

func waitEvent(t *testing.T, ch <-chan store.Event, want func(store.Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if want(ev) {
				return
			}
		case <-deadline:
			t.Fatal("no such event within 10 s")
		}
	}
}

// TestNotifierCoalesces: many events for one mailbox become one with the
// latest modseq; other mailboxes keep theirs.
func TestNotifierCoalesces(t *testing.T) {
	var got []store.Event
	for i := range 100 {
		got = coalesce(got, []store.Event{{Kind: store.EventMessages, Account: 1, Mailbox: 7, ModSeq: store.ModSeq(100 - i)}})
	}
	got = coalesce(got, []store.Event{{Kind: store.EventMessages, Account: 1, Mailbox: 8, ModSeq: 3}, {Kind: store.EventMailboxes, Account: 1}})
	want := []store.Event{{Kind: store.EventMessages, Account: 1, Mailbox: 7, ModSeq: 100}, {Kind: store.EventMessages, Account: 1, Mailbox: 8, ModSeq: 3}, {Kind: store.EventMailboxes, Account: 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
