package pop3d_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"mailhouse/internal/pop3d"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

func TestCapaBeforeAndAfterSTLS(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.cmd("CAPA", "+OK")
	before := c.lines()
	for _, want := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION mailhouse", "STLS"} {
		if !slices.Contains(before, want) {
			t.Errorf("CAPA before TLS lacks %q: %q", want, before)
		}
	}
	for _, not := range []string{"USER", "SASL PLAIN"} {
		if slices.Contains(before, not) {
			t.Errorf("CAPA before TLS lists %q, which is refused there", not)
		}
	}
	c.stls(e.stack.ClientTLS)
	c.cmd("CAPA", "+OK")
	after := c.lines()
	if !slices.Contains(after, "USER") || !slices.Contains(after, "SASL PLAIN") || slices.Contains(after, "STLS") {
		t.Errorf("CAPA after STLS = %q, want USER and SASL PLAIN without STLS", after)
	}
	c.cmd("STLS", "-ERR")
	c.cmd("USER "+alice, "+OK")
	c.cmd("PASS "+testenv.Password, "+OK maildrop has 0 messages")
	c.cmd("CAPA", "+OK")
	if in := c.lines(); slices.Contains(in, "USER") || slices.Contains(in, "SASL PLAIN") {
		t.Errorf("CAPA in TRANSACTION offers login: %q", in)
	}
	c.cmd("QUIT", "+OK")
}

func TestExpireAnnounced(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) { o.Expire = "30" })
	c := e.dialTLS()
	c.cmd("CAPA", "+OK")
	if l := c.lines(); !slices.Contains(l, "EXPIRE 30") {
		t.Errorf("CAPA = %q, want EXPIRE 30", l)
	}
}

func TestPlaintextLoginRefused(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.cmd("USER "+alice, "-ERR plaintext logins are disabled")
	c.cmd("PASS "+testenv.Password, "-ERR plaintext logins are disabled")
	c.cmd("AUTH PLAIN "+plainIR("", alice, testenv.Password), "-ERR plaintext logins are disabled")
	c.cmd("AUTH", "-ERR plaintext logins are disabled")
	c.cmd("APOP "+alice+" 0123456789abcdef0123456789abcdef", "-ERR APOP is not supported")
	c.cmd("QUIT", "+OK")
	c.closed()
}

func TestSTLSDiscardsPipelinedPlaintext(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	// An attacker's injected command rides behind STLS in one packet
	// (CVE-2011-0411); it must not run inside the TLS session.
	c.send("STLS\r\nUSER " + alice)
	c.expect("+OK")
	c.stlsHandshake(e.stack.ClientTLS)
	c.cmd("PASS "+testenv.Password, "-ERR send USER first")
}

func TestUserPass(t *testing.T) {
	e := newEnv(t)
	c := e.dialTLS()
	c.cmd("PASS x", "-ERR send USER first")
	c.cmd("USER", "-ERR usage")
	c.cmd("USER "+alice, "+OK")
	c.cmd("PASS "+testenv.Password, "+OK maildrop has 0 messages")
	c.cmd("USER "+alice, "-ERR USER is not valid after login")
	c.cmd("QUIT", "+OK")
	c.closed()
}

func TestPasswordWithSpaces(t *testing.T) {
	e := newEnv(t)
	// testenv.Password has spaces: PASS takes the rest of the line.
	if !strings.Contains(testenv.Password, " ") {
		t.Skip("test password has no spaces")
	}
	e.login(alice).cmd("QUIT", "+OK")
}

func TestAuthPlain(t *testing.T) {
	e := newEnv(t)
	t.Run("initial response", func(t *testing.T) {
		c := e.dialTLS()
		c.cmd("AUTH PLAIN "+plainIR("", alice, testenv.Password), "+OK maildrop has")
		c.cmd("QUIT", "+OK")
	})
	t.Run("authzid equal to user", func(t *testing.T) {
		c := e.dialTLS()
		c.cmd("auth plain "+plainIR(alice, alice, testenv.Password), "+OK")
		c.cmd("QUIT", "+OK")
	})
	t.Run("continuation", func(t *testing.T) {
		c := e.dialTLS()
		c.cmd("AUTH PLAIN", "+ ")
		c.cmd(plainIR("", bob, testenv.Password), "+OK")
		c.cmd("QUIT", "+OK")
	})
	t.Run("mechanism list", func(t *testing.T) {
		c := e.dialTLS()
		c.cmd("AUTH", "+OK")
		if l := c.lines(); !slices.Equal(l, []string{"PLAIN"}) {
			t.Errorf("AUTH list = %q", l)
		}
	})
	t.Run("failures", func(t *testing.T) {
		c := e.dialTLS()
		c.cmd("AUTH PLAIN", "+ ")
		c.cmd("*", "-ERR authentication cancelled")
		c.cmd("AUTH PLAIN !!!", "-ERR invalid base64")
		c.cmd("AUTH PLAIN =", "-ERR malformed PLAIN response")
		c.cmd("AUTH CRAM-MD5", "-ERR unsupported SASL mechanism")
		c.cmd("AUTH PLAIN "+plainIR(bob, alice, testenv.Password), "-ERR [AUTH] authentication failed")
		c.cmd("AUTH PLAIN "+plainIR("", alice, "wrong"), "-ERR [AUTH] authentication failed")
		// The third failure closes the session.
		c.cmd("AUTH PLAIN "+plainIR("", "nobody@"+testenv.Domain, "wrong"), "-ERR [AUTH] authentication failed (too many failures")
		c.closed()
	})
}

func TestThreeAuthFailuresClose(t *testing.T) {
	e := newEnv(t)
	c := e.dialTLS()
	for i := range 3 {
		c.cmd("USER "+alice, "+OK")
		reply := c.cmd("PASS wrong", "-ERR [AUTH] authentication failed")
		if last := i == 2; last != strings.Contains(reply, "closing connection") {
			t.Errorf("failure %d: %q", i+1, reply)
		}
	}
	c.closed()
	// A new session may log in (the account is not blocked by three).
	e.login(alice).cmd("QUIT", "+OK")
}

func TestInUse(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, msg("one", "hello\n"))
	first := e.login(alice)
	second := e.dialTLS()
	second.cmd("USER "+alice, "+OK")
	second.cmd("PASS "+testenv.Password, "-ERR [IN-USE]")
	// Still in AUTHORIZATION: another account works on the same session.
	second.cmd("STAT", "-ERR")
	other := e.login(bob)
	other.cmd("QUIT", "+OK")
	first.cmd("QUIT", "+OK")
	first.closed()
	second.cmd("AUTH PLAIN "+plainIR("", alice, testenv.Password), "+OK maildrop has 1 messages")
	second.cmd("QUIT", "+OK")
}

func TestLockReleasedOnDrop(t *testing.T) {
	e := newEnv(t)
	c := e.login(alice)
	c.conn.Close()
	// The lock is freed when the server notices.
	d := e.loginOnceFree(alice)
	d.cmd("QUIT", "+OK")
}

// TestExpirePerUser: with a per-account policy (the retention job's),
// CAPA says USER before login and the account's days after.
func TestExpirePerUser(t *testing.T) {
	e := newEnv(t, func(o *pop3d.Options) {
		o.Expire = "NEVER"
		o.ExpireFor = func(_ context.Context, a store.Account) (int, error) {
			if a.Address == alice {
				return 30, nil
			}
			return 0, nil
		}
	})
	c := e.dialTLS()
	c.cmd("CAPA", "+OK")
	if l := c.lines(); !slices.Contains(l, "EXPIRE NEVER USER") {
		t.Errorf("CAPA before login = %q, want EXPIRE NEVER USER", l)
	}
	c = e.login(alice)
	c.cmd("CAPA", "+OK")
	if l := c.lines(); !slices.Contains(l, "EXPIRE 30") {
		t.Errorf("CAPA after login = %q, want EXPIRE 30", l)
	}
}
