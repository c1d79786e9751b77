package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// startMX serves SMTP on 127.0.0.1 (the MX port's behaviour) with d, and
// returns its address.
func startMX(t *testing.T, st *testenv.Stack, d *delivery.Deliverer) string {
	t.Helper()
	srv := smtpd.New(smtpd.Options{
		Hostname: testenv.Hostname, Deliverer: d, Resolver: st.Resolver, Auth: st.Auth, Logger: st.Logger,
		Config: config.SMTP{
			CommandTimeout: config.Duration{Duration: 10 * time.Second},
			DataTimeout:    config.Duration{Duration: 10 * time.Second},
		},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.ServeMX(ln); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) {
			t.Errorf("shutdown: %v", err)
		}
		wg.Wait()
	})
	return ln.Addr().String()
}

// smtpSend sends one message to rcpt as a remote MTA would, and returns
// the error of the first step refused: RCPT or the end of DATA.
func smtpSend(t *testing.T, addr, rcpt, subject string) (rcptErr, dataErr error) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.elsewhere.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@elsewhere.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err, nil
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: sender@elsewhere.test\r\nTo: %s\r\nSubject: %s\r\n\r\nfor %s only\r\n", rcpt, subject, rcpt)
	err = w.Close()
	_ = c.Quit()
	return nil, err
}

func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// TestDeletedAccountsMailNeverReachesANewOne drives the scenario an id
// reused by the store would turn into a leak: mail to a@ is resolved and
// cached (the resolution, "a has no quota", a's INBOX), the newest
// account a is deleted and b created, and mail to a@ comes again within
// the cache time. The cached entries name a's ids, which no new account
// or mailbox gets (sqlstore migration 0006), so the message cannot land
// in b's INBOX: the store finds no such mailbox and the sender is told
// to retry (451), and then hears 550 (unknown user) once the cache entry
// is gone. b's own quota is read, not taken from a's cached "no quota".
func TestDeletedAccountsMailNeverReachesANewOne(t *testing.T) {
	ctx := context.Background()
	st := testenv.NewStack(t, "keeper", "a")
	// A cache time far longer than the test, so that the second delivery
	// is certainly served from the cache however slow the machine.
	d := delivery.New(delivery.Options{
		Store: st.Store, Resolver: st.Resolver, Logger: st.Logger, CacheTTL: time.Hour,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	mx := startMX(t, st, d)
	aAddr, bAddr := "a@"+testenv.Domain, "b@"+testenv.Domain

	a, err := st.Store.GetAccount(ctx, aAddr)
	if err != nil {
		t.Fatal(err)
	}
	aIn := st.Mailbox(t, aAddr, "INBOX")
	if rerr, derr := smtpSend(t, mx, aAddr, "first"); rerr != nil || derr != nil {
		t.Fatalf("first message to a: RCPT %v, DATA %v", rerr, derr)
	}
	if msgs, err := st.Store.ListMessages(ctx, aIn.ID); err != nil || len(msgs) != 1 {
		t.Fatalf("a's INBOX: %d messages, %v", len(msgs), err)
	}

	if err := st.Store.DeleteAccount(ctx, aAddr); err != nil {
		t.Fatal(err)
	}
	// b has a tiny quota: a's cached "no quota" must not apply to it.
	h, err := st.Auth.HashPassword(testenv.Password)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Store.AddAccount(ctx, store.NewAccount{Address: bAddr, PasswordHash: h, QuotaBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	bIn := st.Mailbox(t, bAddr, "INBOX")
	t.Logf("a: account %d, INBOX %d; b: account %d, INBOX %d", a.ID, aIn.ID, b.ID, bIn.ID)
	if b.ID == a.ID || bIn.ID == aIn.ID {
		t.Errorf("b got one of deleted a's ids: account %d (a %d), INBOX %d (a %d)", b.ID, a.ID, bIn.ID, aIn.ID)
	}

	// Within the cache time: RCPT is accepted from the cached resolution
	// (so the cache is what this exercises), the message is not stored.
	rerr, derr := smtpSend(t, mx, aAddr, "second")
	if rerr != nil {
		t.Fatalf("RCPT a@ within the cache time: %v; the cached resolution was not used", rerr)
	}
	if c := replyCode(derr); c != 451 {
		t.Errorf("DATA to deleted a@ through the cache: %v, want 451 (temporary, as the sender will retry)", derr)
	}
	for _, addr := range []string{bAddr, "keeper@" + testenv.Domain} {
		mb := st.Mailbox(t, addr, "INBOX")
		if msgs, err := st.Store.ListMessages(ctx, mb.ID); err != nil || len(msgs) != 0 {
			t.Errorf("%s's INBOX holds %d messages (%v); mail to deleted a@ must reach no one", addr, len(msgs), err)
		}
	}
	if _, err := st.Store.ListMessages(ctx, aIn.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a's INBOX after deletion: %v, want not found", err)
	}

	// b's mail goes by b's own figures: over its 100 bytes, refused.
	if rerr, derr := smtpSend(t, mx, bAddr, "too big for b"); replyCode(rerr) != 452 && replyCode(derr) != 452 && replyCode(derr) != 552 {
		t.Errorf("message over b's quota: RCPT %v, DATA %v; want mailbox full", rerr, derr)
	}

	// The sender's retry, once the entry is gone, is refused as for any
	// unknown user.
	fresh := delivery.New(delivery.Options{Store: st.Store, Resolver: st.Resolver, CacheTTL: -1})
	if _, err := fresh.Resolve(ctx, aAddr); !errors.Is(err, directory.ErrUnknownUser) {
		t.Errorf("a@ without the cache: %v, want unknown user", err)
	}
	mx2 := startMX(t, st, fresh)
	if rerr, _ := smtpSend(t, mx2, aAddr, "retry"); replyCode(rerr) != 550 {
		t.Errorf("retry to a@: %v, want 550", rerr)
	}
}
