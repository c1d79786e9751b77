package imapd_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/testenv"
)

func TestLoginDisabledUntilTLS(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.plainAddr, nil)
	u := c.ok("CAPABILITY")
	if !containsLine(u, "STARTTLS") || !containsLine(u, "LOGINDISABLED") || containsLine(u, "AUTH=PLAIN") {
		t.Errorf("capabilities before TLS: %q", u)
	}
	if st := c.status("LOGIN %s %q", alice(), testenv.Password); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Errorf("LOGIN before TLS: %s", st)
	}
	c.ok("STARTTLS")
	tc := tls.Client(c.conn, ts.ClientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.r.Reset(tc)
	u = c.ok("CAPABILITY")
	if containsLine(u, "LOGINDISABLED") || !containsLine(u, "AUTH=PLAIN") || containsLine(u, "STARTTLS") {
		t.Errorf("capabilities after TLS: %q", u)
	}
	// AUTHENTICATE PLAIN with SASL-IR.
	if st := c.status("AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw=="); !strings.HasPrefix(st, "NO [AUTHENTICATIONFAILED]") {
		t.Errorf("wrong password: %s", st)
	}
	c.ok("AUTHENTICATE PLAIN %s", plainIR(alice(), testenv.Password))
	c.ok("SELECT INBOX")
}

func plainIR(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

func TestAuthenticateContinuation(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	c.write("a AUTHENTICATE PLAIN\r\n")
	c.expect("+ ")
	c.write(plainIR(alice(), testenv.Password) + "\r\n")
	c.expect("a OK [CAPABILITY ")
}

func TestLiteralsAcrossReads(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	user := alice()
	c.write("a LOGIN {" + itoa(len(user)) + "}\r\n")
	c.expect("+ ")
	for i := 0; i < len(user); i += 5 {
		c.write(user[i:min(i+5, len(user))])
		time.Sleep(5 * time.Millisecond)
	}
	// LITERAL+: no continuation request; the data follows at once, split.
	pw := testenv.Password
	c.write(" {" + itoa(len(pw)) + "+}\r\n" + pw[:7])
	time.Sleep(20 * time.Millisecond)
	c.write(pw[7:] + "\r\n")
	c.expect("a OK")
	// APPEND with a literal split over many writes.
	msg := testMessage("split")
	c.write("b APPEND INBOX (\\Seen) {" + itoa(len(msg)) + "}\r\n")
	c.expect("+ ")
	for i := 0; i < len(msg); i += 17 {
		c.write(msg[i:min(i+17, len(msg))])
	}
	c.write("\r\n")
	c.expect("b OK [APPENDUID ")
}

func TestLiteralLimits(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxLiteralBytes: 1000})
	c := ts.login(t, alice())
	// Synchronising literal over APPENDLIMIT: refused without "+", and
	// the session goes on.
	c.write("a APPEND INBOX {5000}\r\n")
	c.expect("a NO [TOOBIG]")
	c.ok("NOOP")
	// LITERAL+ over the limit: refused before the data is read, and the
	// connection closed (the data would be taken as commands).
	c.write("b APPEND INBOX {5000+}\r\n")
	c.expect("b BAD [TOOBIG]")
	c.expect("* BYE")
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Errorf("connection still open: %v", err)
	}
	// A literal within the limit works; LOGIN literals before auth are
	// bounded too.
	c2 := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	c2.write("a LOGIN {100000}\r\n")
	c2.expect("a NO [TOOBIG]")
}

func TestBadCommandsKeepSession(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	for _, garbage := range []string{
		"garbage", "x FOO bar", "x FETCH", "x SELECT", "x FETCH 1 (FLAGS", "x SEARCH (((", "\x00\x01\x02", "x LOGIN a b",
		"x UID FOO", "x STORE 1 FLAGS (\\Bogus)", "x FETCH 1 FLAGS",
	} {
		c.write(garbage + "\r\n")
		l := c.line()
		if !strings.Contains(l, " BAD ") {
			t.Errorf("%q: %q", garbage, l)
		}
	}
	c.ok("NOOP")
	c.ok("SELECT INBOX")
	// A sequence number beyond the mailbox is BAD, not a crash.
	if st := c.status("FETCH 5 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH 5: %s", st)
	}
	c.ok("NOOP")
}

func TestTooManyErrors(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxErrors: 3})
	c := ts.login(t, alice())
	c.write("a FOO\r\nb FOO\r\nc FOO\r\n")
	c.expect("a BAD")
	c.expect("b BAD")
	c.expect("c BAD")
	c.expect("* BYE")
}

func TestMaxCommands(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxCommands: 3})
	c := ts.login(t, alice())
	c.ok("NOOP")
	c.ok("NOOP")
	c.write("x NOOP\r\n")
	c.expect("* BYE")
}

func TestLineTooLong(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxLineLength: 1000})
	c := ts.login(t, alice())
	c.write("a NOOP " + strings.Repeat("x", 5000) + "\r\n")
	c.expect("a BAD")
	c.ok("NOOP")
}

func TestSearchNestingLimit(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxSearchNesting: 5})
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	c.ok("SEARCH ((((ALL))))")
	if st := c.status("SEARCH ((((((((ALL))))))))"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("deep nesting: %s", st)
	}
	if st := c.status("%s", "SEARCH "+strings.Repeat("NOT ", 10)+"ALL"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("deep NOT: %s", st)
	}
}

// TestUnauthTimeout: a session that does not log in ends after
// unauth_timeout; a logged-in one lasts idle_timeout. The time-outs
// leave a loaded machine a second for the handshake and the login, and
// both sessions wait at once.
func TestUnauthTimeout(t *testing.T) {
	const unauth, idle = time.Second, 2 * time.Second
	ts := startServer(t, config.IMAP{UnauthTimeout: config.Duration{Duration: unauth}, IdleTimeout: config.Duration{Duration: idle}})
	start := time.Now()
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	// Authenticated: the longer time-out, counted from the login at
	// the earliest, so never less than idle after start.
	c2 := ts.login(t, alice())
	c.expect("* BYE")
	if d := time.Since(start); d > 10*unauth {
		t.Errorf("BYE after %v", d)
	}
	c2.expect("* BYE")
	if d := time.Since(start); d < idle {
		t.Errorf("authenticated session ended %v after the connection, before idle_timeout (%v)", d, idle)
	}
}

func TestLoginFailuresEndSession(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	for range imapd.MaxAuthFailures - 1 {
		if st := c.status("LOGIN %s wrong", alice()); !strings.HasPrefix(st, "NO") {
			t.Fatal(st)
		}
	}
	c.write("z LOGIN " + alice() + " wrong\r\n")
	c.expect("z NO")
	c.expect("* BYE")
}

func TestConnsPerAccount(t *testing.T) {
	ts := startServer(t, config.IMAP{MaxConnsPerAccount: 2})
	ts.login(t, alice())
	c2 := ts.login(t, alice())
	c3 := dialRaw(t, ts.tlsAddr, ts.ClientTLS)
	if st := c3.status("LOGIN %s %q", alice(), testenv.Password); !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Errorf("third login: %s", st)
	}
	c2.ok("LOGOUT")
	c2.closed() // the session gave its place back before closing
	c3.ok("LOGIN %s %q", alice(), testenv.Password)
}

func TestUTF7MailboxNames(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	c.ok(`CREATE "Entw&APw-rfe/&ZeVnLIqe-"`)
	u := c.ok(`LIST "" "Entw*"`)
	if !containsLine(u, `"Entw&APw-rfe"`) || !containsLine(u, `"Entw&APw-rfe/&ZeVnLIqe-"`) {
		t.Errorf("LIST in modified UTF-7: %q", u)
	}
	if st := c.status(`CREATE "bad&-name&Jjo"`); !strings.HasPrefix(st, "BAD") {
		t.Errorf("bad UTF-7: %s", st)
	}
	c.ok(`SELECT "Entw&APw-rfe/&ZeVnLIqe-"`)
	c.ok("ENABLE UTF8=ACCEPT")
	u = c.ok(`LIST "" "Entw*"`)
	if !containsLine(u, `"Entwürfe/日本語"`) {
		t.Errorf("LIST in UTF-8: %q", u)
	}
	c.ok(`STATUS "Entwürfe/日本語" (MESSAGES)`)
}

// TestNoExpungeDuringFetch: another session's expunge is reported at
// NOOP, not while FETCH, STORE or SEARCH use sequence numbers (RFC 9051
// §7.5.1), and sequence numbers stay right.
func TestNoExpungeDuringFetch(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	for i := range 3 {
		ts.deliver(t, alice(), testMessage("m"+itoa(i+1)))
	}
	a := ts.login(t, alice())
	b := ts.login(t, alice())
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	ts.deliver(t, alice(), testMessage("m4"))
	// The changes reach a through the change feed, a moment after they
	// were made: FETCH until its EXISTS shows the delivery, and with it
	// (it came later) the expunge. No FETCH may report the expunge.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cmd := "FETCH 1:* (UID FLAGS)"
		u, tagged := a.do("%s", cmd)
		if containsLine(u, "EXPUNGE") || strings.HasPrefix(tagged, "BAD") || !containsLine(u, "* 2 FETCH (UID 2 ") {
			t.Fatalf("FETCH after another session's expunge: %q %s", u, tagged)
		}
		if containsLine(u, "* 4 EXISTS") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no EXISTS for the delivery: %q", u)
		}
	}
	for _, cmd := range []string{"STORE 2 +FLAGS (\\Seen)", "SEARCH ALL"} {
		u, tagged := a.do("%s", cmd)
		if containsLine(u, "EXPUNGE") {
			t.Errorf("%s: EXPUNGE sent: %q", cmd, u)
		}
		if strings.HasPrefix(tagged, "BAD") {
			t.Errorf("%s: %s", cmd, tagged)
		}
	}
	u := a.ok("NOOP")
	if !containsLine(u, "* 1 EXPUNGE") {
		t.Errorf("NOOP: %q", u)
	}
	u = a.ok("FETCH 1:* (UID)")
	want := []string{"* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)"}
	for i, w := range want {
		if i >= len(u) || u[i] != w {
			t.Errorf("after EXPUNGE: %q, want %q", u, want)
			break
		}
	}
	// A UID command may report expunges at once.
	b.ok("NOOP")
	b.ok("UID STORE 4 +FLAGS.SILENT (\\Deleted)")
	b.ok("UID EXPUNGE 4")
	u = a.until("UID FETCH 1:* (FLAGS)", "* 3 EXPUNGE")
	if !containsLine(u, "* 3 EXPUNGE") {
		t.Errorf("UID FETCH: %q", u)
	}
}

func TestIdleSeesDelivery(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	c.ok("SELECT INBOX")
	c.write("i IDLE\r\n")
	c.expect("+ ")
	start := time.Now()
	ts.deliver(t, alice(), testMessage("during idle"))
	c.expect("* 1 EXISTS")
	// A moment after the delivery; 5 s leaves a loaded machine room and
	// still tells a push from a poll of the mailbox.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("EXISTS after %v", d)
	}
	c.write("DONE\r\n")
	c.expect("i OK")
}

func TestShutdownSaysBye(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	waiting := ts.login(t, alice())
	idling := ts.login(t, alice())
	idling.ok("SELECT INBOX")
	idling.write("i IDLE\r\n")
	idling.expect("+ ")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waiting.expect("* BYE")
	idling.expect("* BYE")
	if _, err := net.Dial("tcp", ts.tlsAddr); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestBusy(t *testing.T) {
	a, b := net.Pipe()
	go func() { imapd.Busy(a, "too many connections from your address"); a.Close() }()
	l, _ := io.ReadAll(io.LimitReader(b, 100))
	if !strings.HasPrefix(string(l), "* BYE [UNAVAILABLE] too many") {
		t.Errorf("%q", l)
	}
}
