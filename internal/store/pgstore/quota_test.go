package pgstore

import (
	"errors"
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/pgstore/pgtest"
)

// TestLimits drives store.Limits as quota, retention and login blocking
// use it, with sqlstore's semantics.
func TestLimits(t *testing.T) {
	srv := pgtest.Start(t)
	s, err := Open(t.Context(), Options{DSN: srv.NewDB(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	var l store.Limits = s
	acc, in := mustAccount(t, s, "alice@example.test")

	t.Run("DomainQuota", func(t *testing.T) {
		if _, _, err := l.DomainQuota(ctx, "nowhere.test"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown domain: %v", err)
		}
		if err := l.SetDomainQuota(ctx, "example.test", -1); !errors.Is(err, store.ErrNotAllowed) {
			t.Fatalf("negative quota: %v", err)
		}
		if err := l.SetDomainQuota(ctx, "example.test", 1000); err != nil {
			t.Fatal(err)
		}
		if err := l.SetDomainQuota(ctx, "example.test", 5000); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Deliver(ctx, store.Delivery{Body: msg(1), Targets: []store.Target{{Mailbox: in.ID}}}); err != nil {
			t.Fatal(err)
		}
		limit, used, err := l.DomainQuota(ctx, "example.test")
		if err != nil || limit != 5000 || used.Messages != 1 || used.Bytes != int64(len(msg(1))) {
			t.Fatalf("DomainQuota = %d %+v %v", limit, used, err)
		}
	})

	// Quota (store.Sync) and DomainQuota are one statement each: they sum
	// every mailbox of the account, or of the domain's accounts, and
	// nothing of another domain.
	t.Run("QuotaSums", func(t *testing.T) {
		if _, err := s.AddDomain(ctx, "other.test"); err != nil {
			t.Fatal(err)
		}
		other, err := s.AddAccount(ctx, store.NewAccount{Address: "carol@other.test", PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		oin, err := s.GetMailbox(ctx, other.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		_, bobIn := mustAccount(t, s, "bob@example.test")
		sent, err := s.GetMailbox(ctx, acc.ID, "Sent")
		if err != nil {
			t.Fatal(err)
		}
		for i, mb := range []store.MailboxID{sent.ID, bobIn.ID, oin.ID, oin.ID} {
			if _, err := s.Deliver(ctx, store.Delivery{Body: msg(10 + i), Targets: []store.Target{{Mailbox: mb}}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetMessageQuota(ctx, acc.Address, 7); err != nil {
			t.Fatal(err)
		}
		q, err := s.Quota(ctx, acc.ID)
		if err != nil || q.LimitMessages != 7 || q.Usage.Messages != 2 || q.Usage.Bytes != int64(len(msg(1))+len(msg(10))) {
			t.Fatalf("Quota = %+v, %v", q, err)
		}
		if _, err := s.Quota(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Quota of a missing account: %v", err)
		}
		limit, used, err := l.DomainQuota(ctx, "example.test")
		if err != nil || limit != 5000 || used.Messages != 3 || used.Bytes != int64(len(msg(1))+len(msg(10))+len(msg(11))) {
			t.Fatalf("DomainQuota(example.test) = %d %+v %v", limit, used, err)
		}
		limit, used, err = l.DomainQuota(ctx, "other.test")
		if err != nil || limit != 0 || used.Messages != 2 {
			t.Fatalf("DomainQuota(other.test) = %d %+v %v", limit, used, err)
		}
	})

	t.Run("QuotaWarned", func(t *testing.T) {
		if p, err := l.QuotaWarned(ctx, acc.ID); err != nil || p != 0 {
			t.Fatalf("fresh: %d %v", p, err)
		}
		for _, p := range []int{80, 95} {
			if err := l.SetQuotaWarned(ctx, acc.ID, p); err != nil {
				t.Fatal(err)
			}
			if got, err := l.QuotaWarned(ctx, acc.ID); err != nil || got != p {
				t.Fatalf("after %d: %d %v", p, got, err)
			}
		}
		if err := l.SetQuotaWarned(ctx, acc.ID, 0); err != nil {
			t.Fatal(err)
		}
		if p, err := l.QuotaWarned(ctx, acc.ID); err != nil || p != 0 {
			t.Fatalf("reset: %d %v", p, err)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		if err := l.SetRetention(ctx, store.RetentionRule{Folder: ""}); !errors.Is(err, store.ErrNotAllowed) {
			t.Fatalf("rule without folder: %v", err)
		}
		rules := []store.RetentionRule{
			{Folder: `\Trash`, Days: 30},
			{Domain: "example.test", Folder: `\Junk`, Days: 10},
			{Domain: "example.test", Account: "alice@example.test", Folder: "INBOX", Days: 365},
		}
		for _, r := range rules {
			if err := l.SetRetention(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.SetRetention(ctx, store.RetentionRule{Folder: `\Trash`, Days: 7}); err != nil {
			t.Fatal(err)
		}
		if err := l.SetRetention(ctx, store.RetentionRule{Domain: "example.test", Folder: `\Junk`}); err != nil {
			t.Fatal(err)
		}
		got, err := l.ListRetention(ctx)
		want := []store.RetentionRule{{Folder: `\Trash`, Days: 7}, rules[2]}
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("ListRetention = %+v %v, want %+v", got, err, want)
		}
	})

	t.Run("ExpiredUIDs", func(t *testing.T) {
		old := time.Now().Add(-48 * time.Hour)
		var uids []store.UID
		for i := range 3 {
			d, err := s.Deliver(ctx, store.Delivery{Body: msg(i), Targets: []store.Target{{Mailbox: in.ID, InternalDate: old}}})
			if err != nil {
				t.Fatal(err)
			}
			uids = append(uids, d[0].UID)
		}
		got, err := l.ExpiredUIDs(ctx, in.ID, time.Now().Add(-24*time.Hour), 2)
		if err != nil || len(got) != 2 || got[0] != uids[0] || got[1] != uids[1] {
			t.Fatalf("ExpiredUIDs = %v %v, want the first two of %v", got, err, uids)
		}
		if got, err := l.ExpiredUIDs(ctx, in.ID, time.Now().Add(-72*time.Hour), 10); err != nil || len(got) != 0 {
			t.Fatalf("nothing older: %v %v", got, err)
		}
	})

	t.Run("Blocks", func(t *testing.T) {
		now := time.Now()
		if _, err := l.GetBlock(ctx, "ip:192.0.2.1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no block yet: %v", err)
		}
		if err := l.AddBlock(ctx, store.Block{Key: "ip:192.0.2.1", Until: now.Add(time.Hour), Reason: "failures"}); err != nil {
			t.Fatal(err)
		}
		// A shorter block does not shorten a longer one.
		if err := l.AddBlock(ctx, store.Block{Key: "ip:192.0.2.1", Until: now.Add(time.Minute), Reason: "again"}); err != nil {
			t.Fatal(err)
		}
		if err := l.AddBlock(ctx, store.Block{Key: "acct:bob@example.test", Until: now.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		b, err := l.GetBlock(ctx, "ip:192.0.2.1")
		if err != nil || !b.Until.Equal(now.Add(time.Hour)) || b.Reason != "again" || b.Created.IsZero() {
			t.Fatalf("GetBlock = %+v %v", b, err)
		}
		list, err := l.ListBlocks(ctx, now)
		if err != nil || len(list) != 1 || list[0].Key != "ip:192.0.2.1" {
			t.Fatalf("ListBlocks = %+v %v (the expired one must not show)", list, err)
		}
		if n, err := l.ClearBlocks(ctx, "ip:192.0.2.1"); err != nil || n != 1 {
			t.Fatalf("ClearBlocks(key) = %d %v", n, err)
		}
		if _, err := l.GetBlock(ctx, "acct:bob@example.test"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired block survived ClearBlocks: %v", err)
		}
		_ = l.AddBlock(ctx, store.Block{Key: "net:2001:db8::/64", Until: now.Add(time.Hour)})
		if n, err := l.ClearBlocks(ctx, ""); err != nil || n != 1 {
			t.Fatalf("ClearBlocks(all) = %d %v", n, err)
		}
	})
}
