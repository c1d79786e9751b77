package directory_test

import (
	"context"
	"errors"
	"sort"
	"testing"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

func addresses(as []store.Account) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Address)
	}
	sort.Strings(out)
	return out
}

func TestResolve(t *testing.T) {
	s := testenv.NewStack(t, "alice", "bob", "carol")
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Store.AddAlias(ctx, store.Alias{Address: "team@example.test", Targets: []string{"alice@example.test", "bob@example.test", "carol@example.test"}}))
	must(s.Store.AddAlias(ctx, store.Alias{Address: "all@example.test", Targets: []string{"team@example.test", "alice@example.test"}}))
	must(s.Store.AddAlias(ctx, store.Alias{Address: "fwd@example.test", Targets: []string{"alice@example.test", "someone@elsewhere.test"}}))
	r := &directory.Resolver{Dir: s.Store}

	for _, tc := range []struct {
		addr     string
		accounts []string
		external []string
	}{
		{"alice@example.test", []string{"alice@example.test"}, nil},
		{"ALICE@Example.Test", []string{"alice@example.test"}, nil},
		{"alice+lists@example.test", []string{"alice@example.test"}, nil},
		{"team@example.test", []string{"alice@example.test", "bob@example.test", "carol@example.test"}, nil},
		{"all@example.test", []string{"alice@example.test", "bob@example.test", "carol@example.test"}, nil},
		{"team+x@example.test", []string{"alice@example.test", "bob@example.test", "carol@example.test"}, nil},
		{"fwd@example.test", []string{"alice@example.test"}, []string{"someone@elsewhere.test"}},
	} {
		res, err := r.Resolve(ctx, tc.addr)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tc.addr, err)
			continue
		}
		if got := addresses(res.Accounts); !equal(got, tc.accounts) {
			t.Errorf("Resolve(%s) accounts %v, want %v", tc.addr, got, tc.accounts)
		}
		if !equal(res.External, tc.external) {
			t.Errorf("Resolve(%s) external %v, want %v", tc.addr, res.External, tc.external)
		}
	}

	if _, err := r.Resolve(ctx, "nobody@example.test"); !errors.Is(err, directory.ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := r.Resolve(ctx, "alice@elsewhere.test"); !errors.Is(err, directory.ErrNotLocal) {
		t.Errorf("other domain: %v", err)
	}
	if _, err := r.Resolve(ctx, "alice%elsewhere.test@example.test"); !errors.Is(err, directory.ErrUnknownUser) {
		t.Errorf("%%-hack: %v", err)
	}

	// A catch-all takes what nothing else takes.
	must(s.Store.AddAlias(ctx, store.Alias{Address: "@example.test", Targets: []string{"carol@example.test"}}))
	res, err := r.Resolve(ctx, "nobody@example.test")
	if err != nil || !equal(addresses(res.Accounts), []string{"carol@example.test"}) {
		t.Errorf("catch-all: %v %v", err, addresses(res.Accounts))
	}
	res, err = r.Resolve(ctx, "bob@example.test")
	if err != nil || !equal(addresses(res.Accounts), []string{"bob@example.test"}) {
		t.Errorf("catch-all must not take existing users: %v %v", err, addresses(res.Accounts))
	}
}

func TestValidateAliasLoops(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	ctx := context.Background()
	r := &directory.Resolver{Dir: s.Store}
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "a@example.test", Targets: []string{"b@example.test"}}); err != nil {
		t.Fatal(err)
	}
	// b -> a -> b is a loop.
	if err := r.ValidateAlias(ctx, store.Alias{Address: "b@example.test", Targets: []string{"a@example.test"}}); !errors.Is(err, directory.ErrLoop) {
		t.Errorf("loop: %v", err)
	}
	// Self loop.
	if err := r.ValidateAlias(ctx, store.Alias{Address: "c@example.test", Targets: []string{"c@example.test"}}); !errors.Is(err, directory.ErrLoop) {
		t.Errorf("self loop: %v", err)
	}
	// Unknown local target.
	if err := r.ValidateAlias(ctx, store.Alias{Address: "d@example.test", Targets: []string{"ghost@example.test"}}); !errors.Is(err, directory.ErrUnknownUser) {
		t.Errorf("unknown target: %v", err)
	}
	// A deep chain is refused past MaxDepth.
	prev := "alice@example.test"
	for i := 0; i <= directory.MaxDepth+1; i++ {
		addr := "chain" + string(rune('a'+i)) + "@example.test"
		err := r.ValidateAlias(ctx, store.Alias{Address: addr, Targets: []string{prev}})
		if i <= directory.MaxDepth-1 && err != nil {
			t.Fatalf("depth %d refused: %v", i, err)
		}
		if err != nil {
			if !errors.Is(err, directory.ErrLoop) {
				t.Fatalf("depth %d: %v", i, err)
			}
			return
		}
		if err := s.Store.AddAlias(ctx, store.Alias{Address: addr, Targets: []string{prev}}); err != nil {
			t.Fatal(err)
		}
		prev = addr
	}
	t.Fatal("nesting past MaxDepth was accepted")
}

func TestOwns(t *testing.T) {
	s := testenv.NewStack(t, "alice", "bob")
	ctx := context.Background()
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "sales@example.test", Targets: []string{"alice@example.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.AddAlias(ctx, store.Alias{Address: "@example.test", Targets: []string{"alice@example.test"}}); err != nil {
		t.Fatal(err)
	}
	alice, _ := s.Store.GetAccount(ctx, "alice@example.test")
	r := &directory.Resolver{Dir: s.Store}
	for addr, want := range map[string]bool{
		"alice@example.test":      true,
		"Alice@EXAMPLE.test":      true,
		"alice+shop@example.test": true,
		"sales@example.test":      true,
		"bob@example.test":        false,
		"random@example.test":     false, // catch-all does not make every address hers
		"alice@elsewhere.test":    false,
		"not an address":          false,
	} {
		got, err := r.Owns(ctx, alice, addr)
		if err != nil || got != want {
			t.Errorf("Owns(alice, %q) = %v, %v; want %v", addr, got, err, want)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
