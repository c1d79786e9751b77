package app_test

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestDeletedAccountsSessionSeesNothingOfANewOne: an IMAP session of an
// account deleted a moment ago (before the periodic session check ends
// it) holds the account's and its INBOX's ids. An account created in
// the meantime gets new ids (sqlstore migration 0006), so the old
// session can never see the new account's mail: its commands fail or
// show nothing, whatever the new account receives.
func TestDeletedAccountsSessionSeesNothingOfANewOne(t *testing.T) {
	ctx := context.Background()
	s := testenv.Start(t, "", "keeper", "a")
	sendMX(t, s, "x@elsewhere.test", "a@example.test", "for a")
	c, _ := dialIMAP(t, s, "a@example.test")
	if d, err := c.Select("INBOX", nil).Wait(); err != nil || d.NumMessages != 1 {
		t.Fatalf("a's INBOX: %+v, %v", d, err)
	}

	// The newest account goes, another comes (as an admin would do it).
	if err := s.App.Store.DeleteAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	h, err := s.App.Auth.HashPassword(testenv.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Store.AddAccount(ctx, store.NewAccount{Address: "b@example.test", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	sendMX(t, s, "x@elsewhere.test", "b@example.test", "for b")

	leaked := func(msgs []*imapclient.FetchMessageBuffer) bool {
		for _, m := range msgs {
			if m.Envelope != nil && m.Envelope.Subject == "for b" {
				return true
			}
		}
		return false
	}
	_ = c.Noop().Wait()
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	t.Logf("FETCH in the deleted account's selected INBOX: %d messages, %v", len(msgs), err)
	if leaked(msgs) {
		t.Error("the deleted account's session fetched the new account's message")
	}
	d, err := c.Select("INBOX", nil).Wait()
	t.Logf("SELECT INBOX again: %+v, %v", d, err)
	if err == nil && d.NumMessages != 0 {
		msgs, _ := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
		if leaked(msgs) {
			t.Error("the deleted account's session selected the new account's INBOX")
		}
		t.Errorf("SELECT INBOX in the deleted account's session shows %d messages", d.NumMessages)
	}
}
