package smtpd_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/smtpd"
	"mailhouse/internal/testutil"
)

// swaks runs swaks against a server and returns its exit code and
// transcript. Exit codes (swaks(1) EXIT CODES): 0 ok, 23 MAIL refused,
// 24 no RCPT accepted, 26 message refused after DATA, 28 AUTH failed.
func (ts *testServer) swaks(t *testing.T, addr string, args ...string) (int, string) {
	t.Helper()
	bin := testutil.NeedTool(t, "swaks")
	base := []string{"--server", addr, "--helo", "client.example", "--timeout", "20",
		"--tls-verify", "--tls-ca-path", ts.CertFile, "--tls-sni", "localhost"}
	cmd := exec.Command(bin, append(base, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// wantSwaks checks swaks' exit code and that the transcript contains
// each of want.
func (ts *testServer) wantSwaks(t *testing.T, wantCode int, want []string, addr string, args ...string) {
	t.Helper()
	code, out := ts.swaks(t, addr, args...)
	if code != wantCode {
		t.Fatalf("swaks %v: exit %d, want %d\n%s", args, code, wantCode, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("swaks %v: transcript lacks %q\n%s", args, w, out)
		}
	}
}

func TestSwaksMX(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob", "carol")
	ts.addAlias(t, "team@example.test", alice, bob, carol)
	// Inbound over STARTTLS, pipelined.
	ts.wantSwaks(t, 0, []string{"<~  250 "}, ts.mx,
		"--tls", "--pipeline", "--from", "sender@other.test", "--to", "alice@example.test",
		"--header", "Subject: swaks inbound")
	got := string(ts.wantInbox(t, alice, 1))
	if !strings.Contains(got, "with ESMTPS id") || !strings.Contains(got, "Subject: swaks inbound") {
		t.Errorf("stored:\n%s", got)
	}
	// Plaintext, to an alias of three: one copy each.
	ts.wantSwaks(t, 0, nil, ts.mx, "--from", "sender@other.test", "--to", "team@example.test")
	ts.wantInbox(t, alice, 2)
	ts.wantInbox(t, bob, 1)
	ts.wantInbox(t, carol, 1)
	// Relay attempt and unknown user.
	ts.wantSwaks(t, 24, []string{"<** 554 5.7.1"}, ts.mx, "--from", "sender@other.test", "--to", "victim@other.test")
	ts.wantSwaks(t, 24, []string{"<** 550 5.1.1"}, ts.mx, "--from", "sender@other.test", "--to", "nobody@example.test")
	// No AUTH on port 25, even under TLS.
	ts.wantSwaks(t, 28, []string{"not advertise"}, ts.mx, "--tls", "--auth", "PLAIN",
		"--auth-user", alice, "--auth-password", pw, "--from", alice, "--to", "victim@other.test")
}

func TestSwaksSubmission(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	auth := func(mech string) []string {
		return []string{"--auth", mech, "--auth-user", alice, "--auth-password", pw}
	}
	// STARTTLS on 587 with PLAIN and LOGIN.
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		ts.wantSwaks(t, 0, []string{"<~  235 2.0.0"}, ts.sub,
			append([]string{"--tls", "--from", alice, "--to", bob, "--header", "From: <alice@example.test>"}, auth(mech)...)...)
	}
	// Implicit TLS on 465.
	ts.wantSwaks(t, 0, []string{"<~  235 2.0.0"}, ts.sub465,
		append([]string{"--tls-on-connect", "--from", alice, "--to", bob, "--header", "From: <alice@example.test>"}, auth("LOGIN")...)...)
	ts.wantInbox(t, bob, 3)
	// Wrong password.
	ts.wantSwaks(t, 28, []string{"<~* 535 5.7.8"}, ts.sub,
		"--tls", "--from", alice, "--to", bob, "--auth", "PLAIN", "--auth-user", alice, "--auth-password", "wrong")
	// No AUTH offered before TLS.
	ts.wantSwaks(t, 28, []string{"not advertise"}, ts.sub,
		append([]string{"--from", alice, "--to", bob}, auth("PLAIN")...)...)
	// No AUTH at all: a clear "authentication required", not a relay error.
	ts.wantSwaks(t, 23, []string{"<~* 530 5.7.0 Authentication required"}, ts.sub,
		"--tls", "--from", alice, "--to", "victim@other.test")
	// Spoofed envelope sender and From: header.
	ts.wantSwaks(t, 23, []string{"<~* 553 5.7.1"}, ts.sub,
		append([]string{"--tls", "--from", bob, "--to", bob}, auth("PLAIN")...)...)
	ts.wantSwaks(t, 26, []string{"<~* 553 5.7.1"}, ts.sub,
		append([]string{"--tls", "--from", alice, "--to", bob, "--header", "From: Bob <bob@example.test>"}, auth("PLAIN")...)...)
	ts.wantInbox(t, bob, 3)
}

func TestSwaksOversize(t *testing.T) {
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxMessageBytes = 10 << 10 }, "alice")
	body := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(body, []byte(strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	ts.wantSwaks(t, 26, []string{"<** 552 5.3.4"}, ts.mx,
		"--from", "sender@other.test", "--to", alice, "--body", "@"+body)
	ts.wantInbox(t, alice, 0)
}
