package pop3d_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin/ops"
)

// TestDisableEndsSession: disabling an account from another process
// (another store handle running what `mailhouse user disable` runs)
// ends its POP3 session within seconds, without committing its marked
// deletions; the account cannot log in again; bob's session goes on.
func TestDisableEndsSession(t *testing.T) {
	var a *auth.Authenticator
	e := newEnv(t, func(o *pop3d.Options) {
		a = auth.New(auth.Options{Dir: o.Store, Params: testenv.FastParams, SessionCheck: 200 * time.Millisecond})
		o.Auth = a
	})
	a.Start()
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	e.deliver(alice, msg("one", "hello"))
	c := e.login(alice)
	c.cmd("DELE 1", "+OK")
	other := e.login(bob)

	cli, err := sqlstore.Open(context.Background(), sqlstore.Options{Path: filepath.Join(e.stack.Dir, "mailhouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	start := time.Now()
	if err := ops.New(cli, "cli:root").SetDisabled(context.Background(), alice, true); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR [AUTH] account disabled")
	c.closed()
	if d := time.Since(start); d > 10*time.Second { // the check runs every 200 ms; 10 s is for a loaded machine
		t.Errorf("session ended %v after the disable", d)
	}
	if n := len(e.inboxUIDs(alice)); n != 1 {
		t.Errorf("alice's INBOX has %d messages after the forced end, want 1 (DELE not committed)", n)
	}
	other.cmd("STAT", "+OK")
	c2 := e.dialTLS()
	c2.cmd("USER "+alice, "+OK")
	c2.cmd("PASS "+testenv.Password, "-ERR")
}
