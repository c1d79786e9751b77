package smtpd_test

import (
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"mailhouse/internal/smtpd"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// step is one step of testdata/smtp_scenario.py.
type step map[string]any

// runPython runs a smtplib scenario against ts and fails the test if any
// expectation is unmet.
func (ts *testServer) runPython(t *testing.T, steps ...step) {
	t.Helper()
	py := testutil.NeedTool(t, "python3")
	in, err := json.Marshal(map[string]any{"ca": ts.CertFile, "host": "127.0.0.1", "steps": steps})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/smtp_scenario.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib scenario failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("smtplib scenario did not finish:\n%s", out)
	}
}

func port(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

const (
	alice = "alice@" + testenv.Domain
	bob   = "bob@" + testenv.Domain
	carol = "carol@" + testenv.Domain
	pw    = testenv.Password
)

// Port 587: STARTTLS before AUTH, AUTH before MAIL, wrong password, then
// a message that lands in the recipient's INBOX with trace headers.
func TestPythonSubmissionSTARTTLS(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.sub), "expect": 220},
		step{"op": "ehlo", "expect": 250, "has": []string{"starttls", "pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "chunking", "size"}, "lacks": []string{"auth"}},
		step{"op": "auth", "mech": "PLAIN", "user": alice, "password": pw, "expect": "530 5.7.0", "contains": "STARTTLS"},
		step{"op": "mail", "from": alice, "expect": "530 5.7.0", "contains": "Authentication required"},
		step{"op": "starttls", "expect": 220},
		step{"op": "ehlo", "expect": 250, "lacks": []string{"starttls"}, "auth_mechs": []string{"LOGIN", "PLAIN"}},
		step{"op": "mail", "from": alice, "expect": "530 5.7.0"},
		step{"op": "auth", "mech": "PLAIN", "user": alice, "password": "wrong", "expect": "535 5.7.8"},
		step{"op": "auth", "mech": "LOGIN", "user": alice, "password": "wrong", "expect": "535 5.7.8"},
		step{"op": "auth", "mech": "PLAIN", "user": alice, "password": pw, "expect": "235 2.0.0"},
		step{"op": "mail", "from": alice, "expect": 250},
		step{"op": "rcpt", "to": bob, "expect": 250},
		step{"op": "data", "msg": testMessage(alice, bob, "over STARTTLS"), "expect": "250 2.0.0"},
		step{"op": "quit", "expect": 221},
	)
	got := string(ts.wantInbox(t, bob, 1))
	for _, want := range []string{
		"Return-Path: <alice@example.test>\r\nDelivered-To: bob@example.test\r\nReceived: from client.example ([127.0.0.1])\r\n\t(using TLS 1.3",
		"by mail.example.test (mailhouse) with ESMTPSA id ",
		"\tfor <bob@example.test>; ",
		"Subject: over STARTTLS\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stored message lacks %q:\n%s", want, got)
		}
	}
	// Submitted mail to a local user is not copied to the sender.
	ts.wantInbox(t, alice, 0)
}

// Port 465: TLS from the first byte, AUTH LOGIN, and mail to another
// domain deferred (no outbound queue yet) rather than dropped.
func TestPythonSubmissionsImplicitTLS(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.sub465), "tls": "implicit", "expect": 220},
		step{"op": "ehlo", "expect": 250, "lacks": []string{"starttls"}, "auth_mechs": []string{"LOGIN", "PLAIN"}},
		step{"op": "auth", "mech": "LOGIN", "user": "Alice@Example.Test", "password": pw, "expect": "235 2.0.0"},
		step{"op": "mail", "from": alice, "expect": 250},
		step{"op": "rcpt", "to": "someone@other.test", "expect": "451 4.4.0"},
		step{"op": "rcpt", "to": bob, "expect": 250},
		step{"op": "data", "msg": testMessage(alice, bob, "over 465"), "expect": "250 2.0.0"},
		step{"op": "quit", "expect": 221},
	)
	got := string(ts.wantInbox(t, bob, 1))
	if !strings.Contains(got, "with ESMTPSA id") || !strings.Contains(got, "Subject: over 465") {
		t.Errorf("stored message:\n%s", got)
	}
}

// An authenticated user may only send as themselves: envelope and
// From:/Sender: are checked; plus addresses and aliases that deliver to
// the user are theirs.
func TestPythonSenderSpoofing(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxErrors = 100 }, "alice", "bob")
	ts.addAlias(t, "sales@example.test", alice, bob) // delivers to alice too
	ts.addAlias(t, "boss@example.test", bob)         // not alice's
	login := []step{
		{"op": "connect", "port": port(t, ts.sub465), "tls": "implicit", "expect": 220},
		{"op": "ehlo", "expect": 250},
		{"op": "auth", "user": alice, "password": pw, "expect": 235},
	}
	send := func(envFrom, msg, want string) []step {
		return []step{
			{"op": "mail", "from": envFrom, "expect": 250},
			{"op": "rcpt", "to": bob, "expect": 250},
			{"op": "data", "msg": msg, "expect": want},
		}
	}
	var steps []step
	steps = append(steps, login...)
	steps = append(steps,
		step{"op": "mail", "from": bob, "expect": "553 5.7.1"},
		step{"op": "mail", "from": "ceo@other.test", "expect": "553 5.7.1"},
		step{"op": "mail", "from": "boss@example.test", "expect": "553 5.7.1"},
		step{"op": "cmd", "line": "MAIL FROM:<>", "expect": "553 5.7.1"},
	)
	steps = append(steps, send(alice, testMessage(bob, bob, "forged From"), "553 5.7.1")...)
	steps = append(steps, send(alice, "From: <alice@example.test>\r\nSender: <bob@example.test>\r\nSubject: forged Sender\r\n\r\nx\r\n", "553 5.7.1")...)
	steps = append(steps, send(alice, "From: <alice@example.test>\r\nFrom : <bob@example.test>\r\nSubject: second From\r\n\r\nx\r\n", "553 5.7.1")...)
	steps = append(steps, send(alice, "from:\r\n  \"Bob\" <bob@example.test>\r\nSubject: folded\r\n\r\nx\r\n", "553 5.7.1")...)
	steps = append(steps, send(alice, "From: Alice <alice@example.test>, Mallory <boss@example.test>\r\nSubject: two\r\n\r\nx\r\n", "553 5.7.1")...)
	steps = append(steps, send(alice, "From: <<>>@@\r\nSubject: unreadable\r\n\r\nx\r\n", "553 5.7.1")...)
	// Accepted: own address, plus address, own alias, encoded display name.
	steps = append(steps, send(alice, testMessage(alice, bob, "own"), "250")...)
	steps = append(steps, send("alice+lists@example.test", testMessage("ALICE+news@EXAMPLE.TEST", bob, "plus"), "250")...)
	steps = append(steps, send("sales@example.test", testMessage("sales@example.test", bob, "alias"), "250")...)
	steps = append(steps, send(alice, "From: =?utf-8?q?Al=C3=AFce?= <alice@example.test>\r\nSubject: ew\r\n\r\nx\r\n", "250")...)
	steps = append(steps, step{"op": "quit"})
	ts.runPython(t, steps...)
	ts.wantInbox(t, bob, 4)
}

// Port 25 accepts mail for local users only: no AUTH, no relay, unknown
// users refused at RCPT, and the classic open-relay tricks refused or
// delivered only to a local user.
func TestPythonMXNoRelay(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxErrors = 100 }, "alice", "bob")
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.mx), "expect": 220},
		step{"op": "ehlo", "expect": 250, "has": []string{"starttls", "size", "8bitmime"}, "lacks": []string{"auth"}},
		step{"op": "starttls", "expect": 220},
		step{"op": "ehlo", "expect": 250, "lacks": []string{"auth", "starttls"}},
		step{"op": "auth", "user": alice, "password": pw, "expect": "502 5.5.1"},
		step{"op": "mail", "from": "sender@other.test", "expect": 250},
		step{"op": "rcpt", "to": "victim@other.test", "expect": "554 5.7.1"},
		step{"op": "rcpt", "to": "nobody@example.test", "expect": "550 5.1.1"},
		step{"op": "cmd", "line": "RCPT TO:<user%other.test@example.test>", "expect": "550 5.1.1"},
		step{"op": "cmd", "line": "RCPT TO:<@relay.test:user@other.test>", "expect": "554 5.7.1"},
		step{"op": "cmd", "line": "RCPT TO:<@example.test,@relay.test:user@other.test>", "expect": "554 5.7.1"},
		step{"op": "cmd", "line": `RCPT TO:<"user@other.test"@example.test>`, "expect": "553 5.1.3"},
		step{"op": "cmd", "line": `RCPT TO:<"user%other.test"@example.test>`, "expect": "550 5.1.1"},
		step{"op": "cmd", "line": "RCPT TO:<user@other.test@example.test>", "expect": "553 5.1.3"},
		step{"op": "cmd", "line": "RCPT TO:<alice@example.test@other.test>", "expect": "553 5.1.3"},
		step{"op": "cmd", "line": "RCPT TO:<user@[192.0.2.1]>", "expect": "553 5.1.3"},
		step{"op": "cmd", "line": "RCPT TO:<user@other.test.>", "expect": "554 5.7.1"},
		// A source route through us to a local user only reaches that user.
		step{"op": "cmd", "line": "RCPT TO:<@relay.test:alice@example.test>", "expect": 250},
		step{"op": "rcpt", "to": `"bob"@EXAMPLE.test`, "expect": 250},
		step{"op": "data", "msg": testMessage("sender@other.test", alice, "inbound"), "expect": "250 2.0.0"},
		step{"op": "quit"},
	)
	for _, u := range []string{alice, bob} {
		got := string(ts.wantInbox(t, u, 1))
		if !strings.Contains(got, "Return-Path: <sender@other.test>\r\nDelivered-To: "+u+"\r\nReceived: from client.example ([127.0.0.1])\r\n\t(using TLS") ||
			!strings.Contains(got, "with ESMTPS id") {
			t.Errorf("%s got:\n%s", u, got)
		}
	}
	if n := ts.store.count(); n != 1 {
		t.Errorf("%d store deliveries, want 1", n)
	}
}

// With a catch-all, the %-hack and quoted local parts are delivered to
// the catch-all's local target, never routed elsewhere.
func TestPythonMXCatchAllTricks(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	ts.addAlias(t, "@example.test", alice)
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.mx), "expect": 220},
		step{"op": "ehlo", "expect": 250},
		step{"op": "mail", "from": "sender@other.test", "expect": 250},
		step{"op": "cmd", "line": "RCPT TO:<user%other.test@example.test>", "expect": 250},
		step{"op": "cmd", "line": "RCPT TO:<other.test!user@example.test>", "expect": 250},
		step{"op": "cmd", "line": "RCPT TO:<bob+tag@example.test>", "expect": 250},
		step{"op": "cmd", "line": "RCPT TO:<victim@other.test>", "expect": "554 5.7.1"},
		step{"op": "data", "msg": testMessage("sender@other.test", "x@example.test", "catch-all"), "expect": 250},
		step{"op": "quit"},
	)
	ts.wantInbox(t, alice, 1)
	ts.wantInbox(t, bob, 1)
}

// Port 587 without AUTH is no relay either: MAIL itself is refused with a
// message that tells the user to turn on authentication.
func TestPythonSubmissionRelayWithoutAuth(t *testing.T) {
	ts := startServer(t, nil, "alice")
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.sub), "expect": 220},
		step{"op": "ehlo", "expect": 250},
		step{"op": "starttls", "expect": 220},
		step{"op": "mail", "from": alice, "expect": "530 5.7.0", "contains": "Authentication required"},
		step{"op": "cmd", "line": "RCPT TO:<victim@other.test>", "expect": 502},
		step{"op": "quit"},
	)
}

// An alias to three accounts stores the body once and puts a copy in
// each INBOX with its own Delivered-To.
func TestPythonAliasFanOut(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob", "carol")
	ts.addAlias(t, "team@example.test", alice, bob, carol)
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.mx), "expect": 220},
		step{"op": "ehlo", "expect": 250},
		step{"op": "mail", "from": "sender@other.test", "expect": 250},
		step{"op": "rcpt", "to": "team@example.test", "expect": 250},
		step{"op": "rcpt", "to": bob, "expect": 250}, // also directly: still one copy
		step{"op": "data", "msg": testMessage("sender@other.test", "team@example.test", "fan-out"), "expect": 250},
		step{"op": "quit"},
	)
	var bodies []string
	for _, u := range []string{alice, bob, carol} {
		got := string(ts.wantInbox(t, u, 1))
		prefix := "Return-Path: <sender@other.test>\r\nDelivered-To: " + u + "\r\n"
		if !strings.HasPrefix(got, prefix) {
			t.Fatalf("%s got:\n%s", u, got)
		}
		bodies = append(bodies, strings.TrimPrefix(got, prefix))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Error("copies differ below the per-copy prefix")
	}
	ts.store.mu.Lock()
	defer ts.store.mu.Unlock()
	if len(ts.store.deliveries) != 1 || len(ts.store.deliveries[0].Targets) != 3 {
		t.Fatalf("store deliveries: %d, want one with 3 targets", len(ts.store.deliveries))
	}
}

// A message over the size limit is refused: at MAIL when the client
// declares SIZE (smtplib does), after DATA otherwise.
func TestPythonOversize(t *testing.T) {
	const limit = 20 << 10
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxMessageBytes = limit }, "alice")
	big := testMessage("sender@other.test", alice, "big") + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", limit/66+10)
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.mx), "expect": 220},
		step{"op": "ehlo", "expect": 250, "has": []string{"size"}},
		step{"op": "mail", "from": "sender@other.test", "options": []string{"SIZE=" + strconv.Itoa(len(big))}, "expect": "552 5.3.4"},
		step{"op": "mail", "from": "sender@other.test", "expect": 250},
		step{"op": "rcpt", "to": alice, "expect": 250},
		step{"op": "data", "msg": big, "expect": "552 5.3.4"},
		step{"op": "mail", "from": "sender@other.test", "expect": 250},
		step{"op": "rcpt", "to": alice, "expect": 250},
		step{"op": "data", "msg": big[:limit-100], "expect": 250},
		step{"op": "quit"},
	)
	ts.wantInbox(t, alice, 1)
}

// UTF-8 addresses (SMTPUTF8) and 8-bit bodies are accepted, sent the way
// smtplib's send_message sends them, and by hand on port 25.
func TestPythonUTF8And8bit(t *testing.T) {
	ts := startServer(t, nil, "alice")
	jorg := "jörg@example.test"
	ts.AddUser(t, jorg)
	ts.runPython(t,
		step{"op": "connect", "port": port(t, ts.sub), "expect": 220},
		step{"op": "starttls", "expect": 220},
		step{"op": "auth", "user": alice, "password": pw, "expect": 235},
		step{"op": "send_message", "from": "Alice <alice@example.test>", "to": []string{"Jörg <jörg@example.test>"}, "subject": "Grüße", "body": "Schöne Grüße, 日本語\n"},
		step{"op": "quit"},
		step{"op": "connect", "port": port(t, ts.mx), "expect": 220},
		step{"op": "ehlo", "expect": 250, "has": []string{"smtputf8", "8bitmime"}},
		step{"op": "mail", "from": "josé@exämple.test", "options": []string{"SMTPUTF8", "BODY=8BITMIME"}, "expect": 250},
		step{"op": "rcpt", "to": "JÖRG@example.test", "expect": 250},
		step{"op": "data", "msg": "From: José <josé@exämple.test>\r\nSubject: ¡hola!\r\n\r\n8-bit body: ñ\r\n", "expect": 250},
		step{"op": "quit"},
	)
	msgs := ts.inbox(t, jorg)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	if got := string(msgs[0]); !strings.Contains(got, "with UTF8SMTPSA id") || !strings.Contains(got, "To: Jörg <jörg@example.test>") {
		t.Errorf("first message:\n%s", got)
	}
	if got := string(msgs[1]); !strings.Contains(got, "Return-Path: <josé@exämple.test>\r\nDelivered-To: jörg@example.test\r\n") ||
		!strings.Contains(got, "with UTF8SMTP id") || !strings.Contains(got, "8-bit body: ñ\r\n") {
		t.Errorf("second message:\n%s", got)
	}
}
