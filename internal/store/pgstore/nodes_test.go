package pgstore

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
)

// Several Stores on one database stand for several mailhouse nodes.

func twoNodes(t *testing.T) (a, b *Store) {
	t.Helper()
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	// Open both at once: the migration lock lets only one migrate.
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { a, errA = Open(t.Context(), Options{DSN: dsn}) })
	wg.Go(func() { b, errB = Open(t.Context(), Options{DSN: dsn}) })
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func mustAccount(t testing.TB, s store.Store, addr string) (store.Account, store.Mailbox) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetDomain(ctx, "example.test"); err != nil {
		if _, err := s.AddDomain(ctx, "example.test"); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := s.AddAccount(ctx, store.NewAccount{Address: addr, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.GetMailbox(ctx, acc.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return acc, in
}

func msg(i int) []byte {
	return fmt.Appendf(nil, "From: a@example.org\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i)
}

// TestCrossNodeFeed: a delivery, a flag change and an expunge on node A
// reach a subscriber on node B, without polling by the subscriber.
func TestCrossNodeFeed(t *testing.T) {
	a, b := twoNodes(t)
	acc, in := mustAccount(t, a, "alice@example.test")
	ch, cancel := b.Subscribe(acc.ID)
	defer cancel()
	within := func(what string, want store.ModSeq) {
		t.Helper()
		deadline := time.After(10 * time.Second) // a moment, on a loaded machine
		for {
			select {
			case ev := <-ch:
				if ev.Kind == store.EventMessages && ev.Mailbox == in.ID && ev.ModSeq == want {
					return
				}
			case <-deadline:
				t.Fatalf("%s on node A: no event with modseq %d on node B within 10 s", what, want)
			}
		}
	}
	d, err := a.Deliver(t.Context(), store.Delivery{Body: msg(1), Targets: []store.Target{{Mailbox: in.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	within("delivery", d[0].ModSeq)
	r, err := a.UpdateFlags(t.Context(), store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{d[0].UID}, Op: store.FlagsAdd, Flags: []string{store.FlagSeen}})
	if err != nil {
		t.Fatal(err)
	}
	within("flag change", r.Updated[0].ModSeq)
	if _, err := a.Expunge(t.Context(), in.ID, []store.UID{d[0].UID}); err != nil {
		t.Fatal(err)
	}
	st, err := b.MailboxStatus(t.Context(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	within("expunge", st.HighestModSeq)
}

// TestFeedReconnect: when node B's listener connection is killed, a
// change made meanwhile still reaches B's subscriber, and the feed keeps
// working afterwards.
func TestFeedReconnect(t *testing.T) {
	a, b := twoNodes(t)
	acc, in := mustAccount(t, a, "alice@example.test")
	ch, cancel := b.Subscribe(acc.ID)
	defer cancel()
	// Kill B's listener (and only it: it is the session LISTENing).
	if _, err := a.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	d, err := a.Deliver(t.Context(), store.Delivery{Body: msg(1), Targets: []store.Target{{Mailbox: in.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(want store.ModSeq) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-ch:
				if ev.Mailbox == in.ID && ev.ModSeq >= want {
					return
				}
			case <-deadline:
				t.Fatalf("no event reaching modseq %d after the listener was killed", want)
			}
		}
	}
	wait(d[0].ModSeq)
	d, err = a.Deliver(t.Context(), store.Delivery{Body: msg(2), Targets: []store.Target{{Mailbox: in.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	wait(d[0].ModSeq)
}

// TestConcurrentNodesUIDs: deliveries spread over two nodes to one
// mailbox get distinct UIDs, increasing with their modseqs, without
// gaps.
func TestConcurrentNodesUIDs(t *testing.T) {
	a, b := twoNodes(t)
	_, in := mustAccount(t, a, "alice@example.test")
	const n = 40
	var mu sync.Mutex
	var got []store.Delivered
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			d, err := s.Deliver(t.Context(), store.Delivery{Body: msg(i), Targets: []store.Target{{Mailbox: in.ID}}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, d[0])
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(got, func(x, y store.Delivered) int { return int(x.UID) - int(y.UID) })
	for i, d := range got {
		if d.UID != store.UID(i+1) {
			t.Fatalf("UIDs %v: want 1..%d", got, n)
		}
		if i > 0 && d.ModSeq <= got[i-1].ModSeq {
			t.Fatalf("UID %d has modseq %d, not above UID %d's %d", d.UID, d.ModSeq, got[i-1].UID, got[i-1].ModSeq)
		}
	}
	ms, err := b.ListMessages(t.Context(), in.ID)
	if err != nil || len(ms) != n {
		t.Fatalf("listed %d messages (%v), want %d", len(ms), err, n)
	}
}

// TestQueueTwoNodes: workers on two nodes leasing from one queue take
// every entry exactly once; an entry whose worker died (lease ran out) is
// taken again, and the dead worker cannot finish it afterwards.
func TestQueueTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	const n = 30
	for i := range n {
		if _, err := a.QueueAdd(ctx, store.NewQueueEntry{From: "a@example.test", To: []string{fmt.Sprintf("r%d@example.org", i)}, Data: msg(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	taken := map[store.QueueID]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		s, owner := a, fmt.Sprintf("nodeA/%d", w)
		if w%2 == 1 {
			s, owner = b, fmt.Sprintf("nodeB/%d", w)
		}
		wg.Go(func() {
			for {
				es, err := s.QueueLease(ctx, store.LeaseRequest{Owner: owner, Now: time.Now(), For: time.Minute, Limit: 2})
				if err != nil {
					t.Error(err)
					return
				}
				if len(es) == 0 {
					return
				}
				for _, e := range es {
					mu.Lock()
					if prev, dup := taken[e.ID]; dup {
						t.Errorf("entry %d leased by %s and %s", e.ID, prev, owner)
					}
					taken[e.ID] = owner
					mu.Unlock()
					err := s.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: owner, Counted: true,
						Recipients: []store.RecipientResult{{Address: e.Recipients[0].Address, Status: store.RcptDelivered}}})
					if err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(taken) != n {
		t.Fatalf("%d entries delivered, want %d", len(taken), n)
	}
	if es, _ := b.QueueList(ctx); len(es) != 0 {
		t.Fatalf("%d entries left", len(es))
	}

	// A worker of node A dies holding a lease; once it runs out, node B
	// takes the entry, and A's late outcome is refused.
	e, err := a.QueueAdd(ctx, store.NewQueueEntry{From: "a@example.test", To: []string{"late@example.org"}, Data: msg(99)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if es, err := a.QueueLease(ctx, store.LeaseRequest{Owner: "nodeA/dead", Now: now, For: time.Second, Limit: 1}); err != nil || len(es) != 1 {
		t.Fatalf("lease: %v %v", es, err)
	}
	if es, err := b.QueueLease(ctx, store.LeaseRequest{Owner: "nodeB/x", Now: now, For: time.Minute, Limit: 1}); err != nil || len(es) != 0 {
		t.Fatalf("a live lease was taken: %v %v", es, err)
	}
	es, err := b.QueueLease(ctx, store.LeaseRequest{Owner: "nodeB/x", Now: now.Add(2 * time.Second), For: time.Minute, Limit: 1})
	if err != nil || len(es) != 1 || es[0].ID != e.ID {
		t.Fatalf("expired lease not taken over: %v %v", es, err)
	}
	err = a.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: "nodeA/dead", Counted: true,
		Recipients: []store.RecipientResult{{Address: "late@example.org", Status: store.RcptDelivered}}})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("the dead worker finished an entry it no longer held: %v", err)
	}
}

// TestLockerTwoNodes: a lock taken on node A is held against node B
// until A releases it, or A's store closes.
func TestLockerTwoNodes(t *testing.T) {
	a, b := twoNodes(t)
	ctx := t.Context()
	unlock, err := a.TryLock(ctx, "pop3:alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryLock(ctx, "pop3:alice@example.test"); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("node B took node A's lock: %v", err)
	}
	unlock()
	ub, err := b.TryLock(ctx, "pop3:alice@example.test")
	if err != nil {
		t.Fatalf("after A's unlock: %v", err)
	}
	b.Close()
	_ = ub
	ua, err := a.TryLock(ctx, "pop3:alice@example.test")
	if err != nil {
		t.Fatalf("after B closed: %v", err)
	}
	ua()
}
