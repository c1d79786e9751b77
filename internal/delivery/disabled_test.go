package delivery_test

import (
	"context"
	"errors"
	"testing"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestDisabledRefusesMail: with DisabledRefusesMail a disabled account's
// address is refused (ErrDisabled) and an alias delivers to its other
// targets only; without it the disabled account keeps receiving.
func TestDisabledRefusesMail(t *testing.T) {
	s := testenv.NewStack(t, "alice", "bob")
	ctx := context.Background()
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@example.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.(store.Admin).SetDisabled(ctx, "bob@example.test", true); err != nil {
		t.Fatal(err)
	}
	// Default: bob still receives.
	if r, err := s.Deliverer.Resolve(ctx, "bob@example.test"); err != nil || len(r.Accounts) != 1 {
		t.Fatalf("default: %+v %v", r, err)
	}
	d := delivery.New(delivery.Options{
		Store: s.Store, Resolver: s.Resolver, DisabledRefusesMail: true,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	if _, err := d.Resolve(ctx, "Bob+tag@example.test"); !errors.Is(err, delivery.ErrDisabled) {
		t.Fatalf("disabled account: %v, want ErrDisabled", err)
	}
	r, err := d.Resolve(ctx, "team@example.test")
	if err != nil || len(r.Accounts) != 1 || r.Accounts[0].Address != "alice@example.test" {
		t.Fatalf("alias: %+v %v, want alice only", r, err)
	}
	res, err := d.Deliver(ctx, delivery.Envelope{From: "x@elsewhere.test", Recipients: []directory.Resolution{r}, Data: []byte(msg)})
	if err != nil || len(res.Accounts) != 1 || res.Accounts[0] != "alice@example.test" {
		t.Fatalf("deliver to the alias: %+v %v", res, err)
	}
	// Enabled again: accepted.
	if err := s.Store.(store.Admin).SetDisabled(ctx, "bob@example.test", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, "bob@example.test"); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
}
