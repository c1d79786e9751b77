package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

func TestHashAndCheck(t *testing.T) {
	h, err := auth.HashPassword("s3cret pass", testenv.FastParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	if ok, err := auth.CheckPassword(h, "s3cret pass"); !ok || err != nil {
		t.Fatalf("right password refused: %v %v", ok, err)
	}
	if ok, _ := auth.CheckPassword(h, "s3cret pasS"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := auth.HashPassword("s3cret pass", testenv.FastParams)
	if h2 == h {
		t.Fatal("same salt twice")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA"} {
		if _, err := auth.CheckPassword(bad, "x"); !errors.Is(err, auth.ErrBadHash) {
			t.Errorf("CheckPassword(%q) err %v, want ErrBadHash", bad, err)
		}
	}
}

func TestDefaultParamsAreStrong(t *testing.T) {
	if auth.DefaultParams.Memory < 19*1024 || auth.DefaultParams.Time < 2 {
		t.Fatalf("default argon2id cost below OWASP minimum: %+v", auth.DefaultParams)
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := auth.GeneratePassword(), auth.GeneratePassword()
	if len(a) != 20 || a == b {
		t.Fatalf("generated %q and %q", a, b)
	}
}

func TestLoginAndThrottle(t *testing.T) {
	s := testenv.NewStack(t, "alice")
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a := auth.New(auth.Options{Dir: s.Store, Params: testenv.FastParams, FailuresPerIP: 3, FailuresPerAccount: 5, Block: time.Minute, Window: time.Hour, Now: clock})
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.9")

	acct, err := a.Login(ctx, "Alice@Example.TEST", testenv.Password, ip)
	if err != nil || acct.Address != "alice@example.test" {
		t.Fatalf("login with mixed-case address: %v %+v", err, acct)
	}
	if _, err := a.Login(ctx, "nobody@example.test", testenv.Password, ip); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := a.Login(ctx, "alice@example.test", "wrong", ip); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	// Three failures from this address: blocked, even with the right password.
	if _, err := a.Login(ctx, "alice@example.test", testenv.Password, ip); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("after 3 failures: %v, want ErrThrottled", err)
	}
	// Another address still gets in.
	if _, err := a.Login(ctx, "alice@example.test", testenv.Password, netip.MustParseAddr("127.0.0.10")); err != nil {
		t.Fatalf("other address: %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, err := a.Login(ctx, "alice@example.test", testenv.Password, ip); err != nil {
		t.Fatalf("after the block: %v", err)
	}
}

func TestAccountThrottleAcrossAddresses(t *testing.T) {
	s := testenv.NewStack(t, "bob")
	a := auth.New(auth.Options{Dir: s.Store, Params: testenv.FastParams, FailuresPerIP: 100, FailuresPerAccount: 4})
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		ip := netip.AddrFrom4([4]byte{127, 0, 1, byte(i)})
		if _, err := a.Login(ctx, "bob@example.test", "guess", ip); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if _, err := a.Login(ctx, "bob@example.test", testenv.Password, netip.MustParseAddr("127.0.2.1")); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("distributed guessing not throttled: %v", err)
	}
}

func TestDisabledAccountCannotLogIn(t *testing.T) {
	s := testenv.NewStack(t, "dora")
	ctx := context.Background()
	ip := netip.MustParseAddr("127.0.0.1")
	if _, err := s.Auth.Login(ctx, "dora@example.test", testenv.Password, ip); err != nil {
		t.Fatal(err)
	}
	adm := s.Store.(store.Admin)
	if err := adm.SetDisabled(ctx, "dora@example.test", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.Login(ctx, "dora@example.test", testenv.Password, ip); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("disabled account logged in: %v", err)
	}
	if err := adm.SetDisabled(ctx, "dora@example.test", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.Login(ctx, "dora@example.test", testenv.Password, ip); err != nil {
		t.Fatalf("re-enabled account: %v", err)
	}
}
