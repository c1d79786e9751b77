package sqlstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"mailhouse/internal/store"
)

func TestQueueLifecycle(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "q.db")
	s := openTest(t, path)
	now := time.Now()
	e, err := s.QueueAdd(ctx, store.NewQueueEntry{From: "a@x.test", To: []string{"b@y.test", "c@z.test"}, Data: []byte("Subject: x\r\n\r\nhi\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueueAdd(ctx, store.NewQueueEntry{From: "a@x.test", To: []string{"d@y.test"}, Data: []byte("x"), NextAttempt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueueLease(ctx, store.LeaseRequest{Owner: "n1/a", Now: now.Add(time.Second), For: time.Minute, Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != e.ID || len(got[0].Recipients) != 2 {
		t.Fatalf("lease: %+v %v", got, err)
	}
	// Leased: nobody else gets it, until the lease runs out.
	if again, _ := s.QueueLease(ctx, store.LeaseRequest{Owner: "n2/b", Now: now.Add(2 * time.Second), For: time.Minute, Limit: 10}); len(again) != 0 {
		t.Fatalf("leased twice: %+v", again)
	}
	if err := s.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: "n2/b"}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("finish by a stranger: %v", err)
	}
	bounce := store.NewQueueEntry{To: []string{"a@x.test"}, Data: []byte("bounce")}
	err = s.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: "n1/a", Counted: true,
		Recipients: []store.RecipientResult{
			{Address: "b@y.test", Status: store.RcptFailed, Error: "550 5.1.1 no such user"},
			{Address: "c@z.test", Status: store.RcptPending, Error: "451 4.3.0 later"},
		},
		NextAttempt: now.Add(time.Minute), LastError: "451 4.3.0 later", Reports: []store.NewQueueEntry{bounce}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.QueueList(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if l := list[0]; l.Attempts != 1 || l.LastError != "451 4.3.0 later" || l.LeaseOwner != "" ||
		l.Recipients[0].Status != store.RcptFailed || l.Recipients[1].Status != store.RcptPending {
		t.Fatalf("after finish: %+v", l)
	}
	if list[2].From != "" || list[2].Pending()[0] != "a@x.test" {
		t.Fatalf("bounce: %+v", list[2])
	}
	// Survives a reopen.
	s.Close()
	s = openTest(t, path)
	if n, err := s.QueueRetry(ctx, 0, now); err != nil || n != 3 {
		t.Fatalf("retry all: %d %v", n, err)
	}
	got, _ = s.QueueLease(ctx, store.LeaseRequest{Owner: "n1/c", Now: now.Add(time.Second), For: time.Hour, Limit: 10})
	if len(got) != 3 {
		t.Fatalf("lease after retry: %d", len(got))
	}
	if n, err := s.QueueRelease(ctx, "n1/"); err != nil || n != 3 {
		t.Fatalf("release: %d %v", n, err)
	}
	err = s.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: "", Counted: true,
		Recipients: []store.RecipientResult{{Address: "c@z.test", Status: store.RcptDelivered}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueueGet(ctx, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finished entry still there: %v", err)
	}
	data, err := s.QueueData(ctx, list[2].ID)
	if err != nil || string(data) != "bounce" {
		t.Fatalf("data: %q %v", data, err)
	}
	if _, err := s.QueueDrop(ctx, list[2].ID, nil); err != nil {
		t.Fatal(err)
	}
	if next, ok, err := s.QueueNextDue(ctx); err != nil || !ok || next.Before(now.Add(-time.Second)) {
		t.Fatalf("next due: %v %v %v", next, ok, err)
	}
}

func TestDKIMKeys(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, filepath.Join(t.TempDir(), "k.db"))
	k := store.DKIMKey{Domain: "x.test", Selector: "ed1", Algorithm: "ed25519", PrivateKey: []byte{1, 2}}
	if err := s.AddDKIMKey(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key for a domain not hosted: %v", err)
	}
	if _, err := s.AddDomain(ctx, "x.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDKIMKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDKIMKey(ctx, k); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	ks, err := s.ListDKIMKeys(ctx, "x.test")
	if err != nil || len(ks) != 1 || ks[0].Selector != "ed1" || string(ks[0].PrivateKey) != "\x01\x02" {
		t.Fatalf("list: %+v %v", ks, err)
	}
	if err := s.DeleteDomain(ctx, "x.test"); err != nil {
		t.Fatal(err)
	}
	if ks, _ := s.ListDKIMKeys(ctx, ""); len(ks) != 0 {
		t.Fatalf("keys outlived their domain: %+v", ks)
	}
}
