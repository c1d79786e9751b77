package smtpd_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin/ops"
)

// TestDisableEndsSubmission: disabling an account from another process
// (another store handle running what `mailhouse user disable` runs)
// ends its submission sessions (STARTTLS and implicit TLS, one in the
// middle of a transaction) with a 421 within seconds; the account
// cannot log in again; bob's session goes on.
func TestDisableEndsSubmission(t *testing.T) {
	var a *auth.Authenticator
	ts := startServer(t, func(o *smtpd.Options) {
		a = auth.New(auth.Options{Dir: o.Resolver.Dir, Params: testenv.FastParams, SessionCheck: 200 * time.Millisecond})
		o.Auth = a
	}, "alice", "bob")
	a.Start()
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	alice, bob := "alice@"+testenv.Domain, "bob@"+testenv.Domain

	c1 := dialRaw(t, ts.sub)
	c1.cmd("EHLO client.example", "250 ")
	c1.startTLS(ts.ClientTLS)
	c1.login(alice, testenv.Password)
	c2 := dialTLS(t, ts.sub465, ts.ClientTLS)
	c2.login(alice, testenv.Password)
	c2.cmd("MAIL FROM:<"+alice+">", "250 ")
	c2.cmd("RCPT TO:<"+bob+">", "250 ")
	other := dialTLS(t, ts.sub465, ts.ClientTLS)
	other.login(bob, testenv.Password)

	cli, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: filepath.Join(ts.Dir, "mailhouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	if err := ops.New(cli, "cli:root").SetDisabled(context.Background(), alice, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rawClient{c1, c2} {
		c.expect("421 4.7.0 ")
		c.expectClosed()
	}
	if d := time.Since(start); d > 10*time.Second { // the check runs every 200 ms; 10 s is for a loaded machine
		t.Errorf("sessions ended %v after the disable", d)
	}
	other.cmd("NOOP", "250 ")
	c3 := dialTLS(t, ts.sub465, ts.ClientTLS)
	c3.cmd("EHLO client.example", "250 ")
	c3.cmd("AUTH PLAIN "+plainResponse(alice, testenv.Password), "535 ")
	if n := ts.store.count(); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}
