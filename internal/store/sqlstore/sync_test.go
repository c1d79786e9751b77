package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"mailhouse/internal/store"
)

// syncFixture is a store with one account and n messages in INBOX; every
// third message is \Seen, every fifth \Deleted, every seventh has the
// keyword $label<i%2>.
func syncFixture(t testing.TB, n int) (*Store, store.Account, store.Mailbox) {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "mail.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	acct, err := s.AddAccount(ctx, store.NewAccount{Address: "alice@example.test"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("Subject: x\r\n\r\nx\r\n")
	for done := 0; done < n; {
		k := min(1000, n-done)
		targets := make([]store.Target, k)
		for i := range targets {
			j := done + i + 1 // the UID it will get
			var flags []string
			if j%3 == 0 {
				flags = append(flags, store.FlagSeen)
			}
			if j%5 == 0 {
				flags = append(flags, store.FlagDeleted)
			}
			if j%7 == 0 {
				flags = append(flags, "$label"+string(rune('0'+j%2)))
			}
			targets[i] = store.Target{Mailbox: mb.ID, Flags: flags}
		}
		if _, err := s.Deliver(ctx, store.Delivery{Body: body, Targets: targets}); err != nil {
			t.Fatal(err)
		}
		done += k
	}
	mb, _ = s.GetMailbox(ctx, acct.ID, "INBOX")
	return s, acct, mb
}

func TestMailboxView(t *testing.T) {
	s, acct, mb := syncFixture(t, 30)
	ctx := t.Context()
	v, err := s.MailboxView(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Mailbox != mb {
		t.Errorf("mailbox %+v, want %+v", v.Mailbox, mb)
	}
	if len(v.UIDs) != 30 || v.UIDs[0] != 1 || v.UIDs[29] != 30 {
		t.Errorf("UIDs %v", v.UIDs)
	}
	if v.FirstUnseen != 1 || v.Deleted != 6 || !slices.Equal(v.Keywords, []string{"$label0", "$label1"}) {
		t.Errorf("view %+v", v)
	}
	// Once 1 and 2 are seen, 4 is the first unseen.
	if _, err := s.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mb.ID, UIDs: []store.UID{1, 2}, Op: store.FlagsAdd, Flags: []string{store.FlagSeen}}); err != nil {
		t.Fatal(err)
	}
	if v, _ = s.MailboxView(ctx, mb.ID); v.FirstUnseen != 4 || v.Mailbox.HighestModSeq != mb.HighestModSeq+1 {
		t.Errorf("after STORE: first unseen %d, modseq %d", v.FirstUnseen, v.Mailbox.HighestModSeq)
	}
	del, err := s.DeletedUIDs(ctx, mb.ID)
	if err != nil || !slices.Equal(del, []store.UID{5, 10, 15, 20, 25, 30}) {
		t.Errorf("DeletedUIDs: %v, %v", del, err)
	}
	ms, err := s.ListMessagesRange(ctx, mb.ID, 10, 12)
	if err != nil || len(ms) != 3 || ms[0].UID != 10 || ms[2].UID != 12 || !slices.Contains(ms[0].Flags, store.FlagDeleted) {
		t.Errorf("ListMessagesRange: %+v, %v", ms, err)
	}
	if _, err := s.MailboxView(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MailboxView of a missing mailbox: %v", err)
	}
	if _, err := s.ListMessagesRange(ctx, 9999, 1, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListMessagesRange of a missing mailbox: %v", err)
	}
	if _, err := s.DeletedUIDs(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeletedUIDs of a missing mailbox: %v", err)
	}
	_ = acct
}

func TestQuota(t *testing.T) {
	s, acct, _ := syncFixture(t, 4)
	ctx := t.Context()
	q, err := s.Quota(ctx, acct.ID)
	if err != nil || q.LimitBytes != 0 || q.LimitMessages != 0 || q.Usage.Messages != 4 || q.Usage.Bytes != 4*17 {
		t.Fatalf("Quota: %+v, %v", q, err)
	}
	if err := s.SetQuota(ctx, acct.Address, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMessageQuota(ctx, acct.Address, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMessageQuota(ctx, acct.Address, 20); err != nil {
		t.Fatal(err)
	}
	if q, _ = s.Quota(ctx, acct.ID); q.LimitBytes != 1000 || q.LimitMessages != 20 {
		t.Errorf("Quota after setting: %+v", q)
	}
	if err := s.SetMessageQuota(ctx, "nobody@example.test", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if err := s.SetMessageQuota(ctx, acct.Address, -1); !errors.Is(err, store.ErrNotAllowed) {
		t.Errorf("negative: %v", err)
	}
	if _, err := s.Quota(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Quota of a missing account: %v", err)
	}
	// The limit goes with its account.
	if err := s.DeleteAccount(ctx, acct.Address); err != nil {
		t.Fatal(err)
	}
	checkIntegrity(t, s)
}

// BenchmarkMailboxView100k compares what SELECT reads of a 100,000-message
// mailbox: MailboxView against ListMessages.
func BenchmarkMailboxView100k(b *testing.B) {
	s, _, mb := syncFixture(b, 100_000)
	ctx := context.Background()
	b.Run("MailboxView", func(b *testing.B) {
		for b.Loop() {
			if v, err := s.MailboxView(ctx, mb.ID); err != nil || len(v.UIDs) != 100_000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListMessages", func(b *testing.B) {
		for b.Loop() {
			if ms, err := s.ListMessages(ctx, mb.ID); err != nil || len(ms) != 100_000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("DeletedUIDs", func(b *testing.B) {
		for b.Loop() {
			if d, err := s.DeletedUIDs(ctx, mb.ID); err != nil || len(d) != 20_000 {
				b.Fatal(err)
			}
		}
	})
}
