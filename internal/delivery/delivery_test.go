package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

const msg = "From: x@elsewhere.test\r\nTo: team@example.test\r\nSubject: hi\r\n\r\nhello\r\n"

func TestDeliverFanOut(t *testing.T) {
	s := testenv.NewStack(t, "alice", "bob", "carol")
	ctx := context.Background()
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@example.test", "carol@example.test"}}); err != nil {
		t.Fatal(err)
	}
	var rcpts []directory.Resolution
	for _, a := range []string{"team@example.test", "alice+x@example.test"} {
		r, err := s.Deliverer.Resolve(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		rcpts = append(rcpts, r)
	}
	res, err := s.Deliverer.Deliver(ctx, delivery.Envelope{From: "x@elsewhere.test", Recipients: rcpts, Data: []byte(msg)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Local) != 3 {
		t.Fatalf("delivered %d copies, want 3 (alice once)", len(res.Local))
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		addr := u + "@example.test"
		mb := s.Mailbox(t, addr, "INBOX")
		msgs, err := s.Store.ListMessages(ctx, mb.ID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s INBOX: %v, %d messages", addr, err, len(msgs))
		}
		b, err := s.Store.ReadMessage(ctx, mb.ID, msgs[0].UID)
		if err != nil {
			t.Fatal(err)
		}
		wantPrefix := "Return-Path: <x@elsewhere.test>\r\nDelivered-To: " + addr + "\r\n"
		if !strings.HasPrefix(string(b), wantPrefix) || !bytes.HasSuffix(b, []byte(msg)) {
			t.Errorf("%s got %q", addr, b)
		}
		if msgs[0].Size != int64(len(b)) || msgs[0].PrefixLen != len(wantPrefix) {
			t.Errorf("%s size %d prefix %d, read %d bytes", addr, msgs[0].Size, msgs[0].PrefixLen, len(b))
		}
		if p, err := s.Store.ReadParsed(ctx, mb.ID, msgs[0].UID); err != nil || len(p) == 0 {
			t.Errorf("%s: no parsed structure stored: %v", addr, err)
		}
	}
}

func TestExternalNeedsQueue(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "fwd@example.test", Targets: []string{"alice@example.test", "a@elsewhere.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliverer.Resolve(ctx, "fwd@example.test"); !errors.Is(err, delivery.ErrNoQueue) {
		t.Fatalf("forward without queue: %v", err)
	}
	_, err := s.Deliverer.Deliver(ctx, delivery.Envelope{From: "alice@example.test", External: []string{"b@elsewhere.test"}, Data: []byte(msg)})
	if !errors.Is(err, delivery.ErrNoQueue) {
		t.Fatalf("external without queue: %v", err)
	}
	msgs, _ := s.Store.ListMessages(ctx, s.Mailbox(t, "alice@example.test", "INBOX").ID)
	if len(msgs) != 0 {
		t.Fatal("a refused message was stored")
	}
}

type memQueue struct{ got [][]string }

func (q *memQueue) Enqueue(_ context.Context, from string, to []string, _ []byte) error {
	q.got = append(q.got, append([]string{from}, to...))
	return nil
}

func TestExternalQueued(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	q := &memQueue{}
	d := delivery.New(delivery.Options{Store: s.Store, Resolver: s.Resolver, Queue: q})
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "fwd@example.test", Targets: []string{"alice@example.test", "a@elsewhere.test"}}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Resolve(ctx, "fwd@example.test")
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Deliver(ctx, delivery.Envelope{From: "x@y.test", Recipients: []directory.Resolution{r}, External: []string{"a@elsewhere.test", "b@elsewhere.test"}, Data: []byte(msg)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Local) != 1 || len(q.got) != 1 || strings.Join(q.got[0], ",") != "x@y.test,a@elsewhere.test,b@elsewhere.test" {
		t.Fatalf("local %d, queued %v", len(res.Local), q.got)
	}
}

func TestAppend(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	mb := s.Mailbox(t, "alice@example.test", "Sent")
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	d, err := s.Deliverer.Append(ctx, mb.ID, []string{store.FlagSeen}, date, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Store.GetMessage(ctx, mb.ID, d.UID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.InternalDate.Equal(date) || len(m.Flags) != 1 || m.Flags[0] != store.FlagSeen || m.Size != int64(len(msg)) {
		t.Fatalf("appended %+v", m)
	}
	b, _ := s.Store.ReadMessage(ctx, mb.ID, d.UID)
	if string(b) != msg {
		t.Fatalf("stored %q", b)
	}
}

// TestAdmittedQuota: the quota read at RCPT (Admit) is what Deliver
// checks the real size against while it is recent, so a message larger
// than announced is still refused; an older reading is read again, so a
// lowered quota counts.
func TestAdmittedQuota(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	alice := "alice@" + testenv.Domain
	if err := s.Store.SetQuota(ctx, alice, 4096); err != nil {
		t.Fatal(err)
	}
	res, err := s.Deliverer.Resolve(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := s.Deliverer.Admit(ctx, res.Accounts[0], 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	env := func(size int) delivery.Envelope {
		data := msg + strings.Repeat("x", size) + "\r\n"
		return delivery.Envelope{From: "x@elsewhere.test", Recipients: []directory.Resolution{res}, Data: []byte(data),
			Admitted: []delivery.Admission{adm}}
	}
	if _, err := s.Deliverer.Deliver(ctx, env(5000)); !errors.Is(err, store.ErrOverQuota) {
		t.Fatalf("5 KB into a 4 KB quota: %v, want over quota", err)
	}
	if _, err := s.Deliverer.Deliver(ctx, env(100)); err != nil {
		t.Fatalf("a small message: %v", err)
	}
	if err := s.Store.SetQuota(ctx, alice, 10); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the age at which a reading is reused
	if _, err := s.Deliverer.Deliver(ctx, env(100)); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("after the quota was lowered: %v, want over quota", err)
	}
	if msgs, err := s.Store.ListMessages(ctx, s.Mailbox(t, alice, "INBOX").ID); err != nil || len(msgs) != 1 {
		t.Errorf("INBOX: %d messages, %v; want the one that fitted", len(msgs), err)
	}
}

// TestAdmitUnlimited: an account without any quota is not read again
// for every recipient; a quota set meanwhile applies to CheckQuota at
// once and to Admit within a second.
func TestAdmitUnlimited(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	alice := "alice@" + testenv.Domain
	res, err := s.Deliverer.Resolve(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	acct := res.Accounts[0]
	if _, err := s.Deliverer.Admit(ctx, acct, 1, 5000); err != nil {
		t.Fatalf("no quota: %v", err)
	}
	if err := s.Store.SetQuota(ctx, alice, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliverer.CheckQuota(ctx, acct, 1, 5000); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("CheckQuota right after the quota was set: %v, want over quota", err)
	}
	// A call that starts 1.5 s after the quota was set must see it (one
	// that starts before may end after, on a loaded machine).
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		late := time.Now().After(deadline)
		_, err := s.Deliverer.Admit(ctx, acct, 1, 5000)
		if errors.Is(err, store.ErrOverQuota) {
			break
		}
		if err != nil || late {
			t.Fatalf("Admit 1.5 s after the quota was set: %v, want over quota", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
