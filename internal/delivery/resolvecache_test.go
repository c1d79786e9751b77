package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestResolveCache: a new alias is resolved at once even right after a
// miss (misses are not kept); a removed alias and a deleted account stop
// resolving within the default cache time (1 s), and a changed alias
// delivers to its new target within it.
func TestResolveCache(t *testing.T) {
	s := testenv.NewStack(t, "alice", "bob", "carol")
	ctx := context.Background()
	d := delivery.New(delivery.Options{Store: s.Store, Resolver: s.Resolver,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() }})
	team := "team@" + testenv.Domain
	if _, err := d.Resolve(ctx, team); !errors.Is(err, directory.ErrUnknownUser) {
		t.Fatalf("before the alias exists: %v, want unknown user", err)
	}
	if err := s.Store.AddAlias(ctx, store.Alias{Address: team, Targets: []string{"alice@" + testenv.Domain}}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Resolve(ctx, team)
	if err != nil || len(r.Accounts) != 1 {
		t.Fatalf("right after the alias was added: %+v, %v", r, err)
	}
	r.Accounts[0].Address = "changed by the caller"
	if r, _ := d.Resolve(ctx, team); r.Accounts[0].Address != "alice@"+testenv.Domain {
		t.Errorf("a caller's change reached the cache: %+v", r)
	}
	carol := "carol@" + testenv.Domain
	if _, err := d.Resolve(ctx, carol); err != nil {
		t.Fatal(err)
	}

	if err := s.Store.DeleteAlias(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.DeleteAccount(ctx, carol); err != nil {
		t.Fatal(err)
	}
	// Calls that start 1.5 s after the removal must see it (ones that
	// start before may end after, on a loaded machine).
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		late := time.Now().After(deadline)
		_, errTeam := d.Resolve(ctx, team)
		_, errCarol := d.Resolve(ctx, carol)
		if errors.Is(errTeam, directory.ErrUnknownUser) && errors.Is(errCarol, directory.ErrUnknownUser) {
			break
		}
		if late {
			t.Fatalf("1.5 s after removal: alias %v, account %v; want both unknown", errTeam, errCarol)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// CacheTTL < 0: every call reads the directory.
	nc := delivery.New(delivery.Options{Store: s.Store, Resolver: s.Resolver, CacheTTL: -1})
	if err := s.Store.AddAlias(ctx, store.Alias{Address: team, Targets: []string{"alice@" + testenv.Domain}}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Resolve(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.DeleteAlias(ctx, team); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Resolve(ctx, team); !errors.Is(err, directory.ErrUnknownUser) {
		t.Errorf("uncached, right after removal: %v, want unknown user", err)
	}
}

// TestDeliverAfterAccountDeleted: a delivery to an account deleted a
// moment ago, through a cached resolution and INBOX, fails (a temporary
// error to the sender) and stores nothing.
func TestDeliverAfterAccountDeleted(t *testing.T) {
	s := testenv.NewStack(t, "alice", "carol")
	ctx := context.Background()
	carol := "carol@" + testenv.Domain
	r, err := s.Deliverer.Resolve(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	env := delivery.Envelope{From: "x@elsewhere.test", Recipients: []directory.Resolution{r}, Data: []byte(msg)}
	if _, err := s.Deliverer.Deliver(ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.DeleteAccount(ctx, carol); err != nil {
		t.Fatal(err)
	}
	if r2, err := s.Deliverer.Resolve(ctx, carol); err == nil {
		env.Recipients = []directory.Resolution{r2}
	}
	if _, err := s.Deliverer.Deliver(ctx, env); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delivery to a deleted account: %v, want not found", err)
	}
	if msgs, err := s.Store.ListMessages(ctx, s.Mailbox(t, "alice@"+testenv.Domain, "INBOX").ID); err != nil || len(msgs) != 0 {
		t.Errorf("alice's INBOX: %d messages, %v", len(msgs), err)
	}
}
