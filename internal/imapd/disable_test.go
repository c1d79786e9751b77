package imapd_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin/ops"
)

// startWithSessionCheck starts a server whose Authenticator checks the
// account flags of live sessions every 200 ms.
func startWithSessionCheck(t *testing.T) *testServer {
	t.Helper()
	var a *auth.Authenticator
	ts := startServerWith(t, config.IMAP{}, func(o *imapd.Options) {
		a = auth.New(auth.Options{Dir: o.Store, Params: testenv.FastParams, SessionCheck: 200 * time.Millisecond})
		o.Auth = a
	})
	ts.Auth = a
	a.Start()
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	return ts
}

func waitClosed(t *testing.T, c *imapclient.Client, what string) {
	t.Helper()
	select {
	case <-c.Closed():
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: session still open 15 s after the account was disabled", what)
	}
}

// TestDisableEndsSessions: disabling an account from another process
// (another store handle, as `mailhouse user disable` does) ends its
// sessions, idle in IDLE or not, within seconds; other accounts keep
// theirs, and the disabled account cannot log in again.
func TestDisableEndsSessions(t *testing.T) {
	ts := startWithSessionCheck(t)
	idle := dialClient(t, ts, alice(), nil)
	if _, err := idle.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	ic, err := idle.Idle()
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	plain := dialClient(t, ts, alice(), nil)
	other := dialClient(t, ts, bob(), nil)

	// The CLI: its own store handle on the same database, and the same
	// operation `mailhouse user disable` runs.
	cli, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: filepath.Join(ts.Dir, "mailhouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	if err := ops.New(cli, "cli:root").SetDisabled(context.Background(), alice(), true); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, idle, "IDLE session")
	waitClosed(t, plain, "authenticated session")
	t.Logf("sessions ended %v after the disable", time.Since(start).Round(time.Millisecond))
	if err := other.Noop().Wait(); err != nil {
		t.Errorf("bob's session suffered: %v", err)
	}
	c, err := imapclient.DialStartTLS(ts.plainAddr, &imapclient.Options{TLSConfig: ts.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(alice(), testenv.Password).Wait(); err == nil {
		t.Error("a disabled account logged in")
	}
}

// TestEndSessionsAtOnce: the admin console (same process) ends the
// sessions through the Authenticator without waiting for the poll.
func TestEndSessionsAtOnce(t *testing.T) {
	ts := startServer(t, config.IMAP{}) // no Start: only EndSessions acts
	c := dialClient(t, ts, alice(), nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store.(store.Admin).SetDisabled(context.Background(), alice(), true); err != nil {
		t.Fatal(err)
	}
	if n := ts.Auth.EndSessions("Alice@Example.TEST"); n != 1 {
		t.Errorf("EndSessions ended %d sessions, want 1", n)
	}
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("session still open 10 s after EndSessions")
	}
}
