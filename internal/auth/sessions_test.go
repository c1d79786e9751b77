package auth_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

func TestSessionRegistry(t *testing.T) {
	st := testenv.NewStack(t, "alice", "bob")
	a := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams, SessionCheck: 50 * time.Millisecond})
	ctx := context.Background()
	alice, _ := st.Store.GetAccount(ctx, "alice@"+testenv.Domain)
	bob, _ := st.Store.GetAccount(ctx, "bob@"+testenv.Domain)
	var aliceEnded, bobEnded atomic.Int32
	u1 := a.Track(alice, func() { aliceEnded.Add(1) })
	a.Track(alice, func() { aliceEnded.Add(1) })
	a.Track(bob, func() { bobEnded.Add(1) })
	u1()
	u1() // twice is harmless
	if n := a.Sessions(alice.ID); n != 1 {
		t.Fatalf("alice has %d tracked sessions, want 1", n)
	}
	// Nothing disabled: the check ends nothing.
	if err := a.CheckSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if aliceEnded.Load()+bobEnded.Load() != 0 {
		t.Fatal("a check ended sessions of enabled accounts")
	}
	if err := st.Store.(store.Admin).SetDisabled(ctx, alice.Address, true); err != nil {
		t.Fatal(err)
	}
	a.Start()
	a.Start() // twice is harmless
	defer a.Shutdown(ctx)
	deadline := time.Now().Add(15 * time.Second)
	for aliceEnded.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if aliceEnded.Load() != 1 || bobEnded.Load() != 0 {
		t.Fatalf("ended: alice %d (want 1, the untracked one not called), bob %d (want 0)", aliceEnded.Load(), bobEnded.Load())
	}
	if n := a.EndSessions("BOB@example.test"); n != 1 || bobEnded.Load() != 1 {
		t.Fatalf("EndSessions: %d ended, bob's end called %d times", n, bobEnded.Load())
	}
	if n := a.EndAccount(bob.ID); n != 0 {
		t.Fatalf("EndAccount after EndSessions ended %d", n)
	}
	// A deleted account's sessions end at the next check too.
	carol := st.AddUser(t, "carol@"+testenv.Domain)
	carolEnded := make(chan struct{})
	a.Track(carol, func() { close(carolEnded) })
	if err := st.Store.DeleteAccount(ctx, carol.Address); err != nil {
		t.Fatal(err)
	}
	select {
	case <-carolEnded:
	case <-time.After(15 * time.Second):
		t.Fatal("a deleted account's session was not ended")
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTrack: registering and removing one session (every login
// pays it once).
func BenchmarkTrack(b *testing.B) {
	st := testenv.NewStack(b, "alice")
	a := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams})
	acct, _ := st.Store.GetAccount(context.Background(), "alice@"+testenv.Domain)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Track(acct, func() {})()
		}
	})
}

// BenchmarkCheckSessions: one poll of the account flags with 1,000
// tracked sessions over 100 accounts, 10 of them flagged admin.
func BenchmarkCheckSessions(b *testing.B) {
	st := testenv.NewStack(b)
	a := auth.New(auth.Options{Dir: st.Store, Params: testenv.FastParams})
	ctx := context.Background()
	for i := range 100 {
		acct := st.AddUser(b, "u"+strconv.Itoa(i)+"@"+testenv.Domain)
		if i%10 == 0 {
			st.Store.(store.Admin).SetAdmin(ctx, acct.Address, true)
		}
		for range 10 {
			a.Track(acct, func() {})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := a.CheckSessions(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
