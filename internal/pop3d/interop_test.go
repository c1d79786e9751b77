package pop3d_test

// Interoperability tests: real POP3 clients installed from Debian
// (fetchmail, getmail6, curl) and Python's poplib, against the real
// server on loopback. testutil.NeedTool fails them in CI when a client
// is missing.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// run runs a client with a time limit and returns its output and exit
// code.
func run(t *testing.T, env []string, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out\nstdout: %s\nstderr: %s", name, o.String(), e.String())
	}
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%s: %v", name, err)
	}
	return o.String(), e.String(), code
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fill delivers n messages with distinct subjects to alice, some with
// dot lines and one stored with bare LFs as IMAP APPEND may leave it.
func (e *env) fill(tag string, n int) []string {
	var subjects []string
	for i := range n {
		s := fmt.Sprintf("%s-%d", tag, i)
		subjects = append(subjects, s)
		if i == n-1 {
			e.appendRaw(alice, []byte("From: carol@example.org\nSubject: "+s+"\n\nbare LF\n.dot line\n"))
			continue
		}
		e.deliver(alice, msg(s, "Hello.\n.\n..leading dots\nBye.\n"))
	}
	return subjects
}

func countSubjects(b []byte, subjects []string) int {
	n := 0
	for _, s := range subjects {
		if bytes.Contains(b, []byte("Subject: "+s+"\r\n")) || bytes.Contains(b, []byte("Subject: "+s+"\n")) {
			n++
		}
	}
	return n
}

func TestPoplib(t *testing.T) {
	py := testutil.NeedTool(t, "python3")
	e := newEnv(t)
	subjects := e.fill("py", 4)
	script := filepath.Join("testdata", "poplib_client.py")
	for _, mode := range []string{"ssl", "stls"} {
		t.Run(mode, func(t *testing.T) {
			addr := e.tlsAddr
			if mode == "stls" {
				addr = e.plainAddr
			}
			before := e.inboxUIDs(alice)
			out, errOut, code := run(t, nil, py, script, mode, "127.0.0.1", port(t, addr), e.stack.CertFile, alice, testenv.Password)
			if code != 0 {
				t.Fatalf("poplib script failed (%d):\n%s\n%s", code, out, errOut)
			}
			var res struct {
				Count    int
				UIDL     []string
				Subjects []string
				Quit     string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			mb := e.inbox(alice)
			var want []string
			for _, u := range before {
				want = append(want, fmt.Sprintf("%08x%08x", mb.UIDValidity, uint32(u)))
			}
			if !slices.Equal(res.UIDL, want) {
				t.Errorf("UIDL = %q, want %q", res.UIDL, want)
			}
			if !slices.Equal(res.Subjects, subjects[len(subjects)-len(before):]) {
				t.Errorf("subjects = %q", res.Subjects)
			}
			// The script deleted message 1 and quit.
			if after := e.inboxUIDs(alice); !slices.Equal(after, before[1:]) {
				t.Errorf("INBOX after QUIT = %v, want %v", after, before[1:])
			}
		})
	}
}

func TestCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	e := newEnv(t)
	subjects := e.fill("curl", 3)
	user := alice + ":" + testenv.Password
	base := []string{"-sS", "--cacert", e.stack.CertFile, "-u", user, "--max-time", "30"}
	plain := "pop3://127.0.0.1:" + port(t, e.plainAddr)
	implicit := "pop3s://127.0.0.1:" + port(t, e.tlsAddr)

	t.Run("pop3 STLS list", func(t *testing.T) {
		out, errOut, code := run(t, nil, curl, append(base, "--ssl-reqd", plain+"/")...)
		if code != 0 {
			t.Fatalf("curl %d: %s", code, errOut)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "1 ") {
			t.Errorf("LIST via curl = %q", out)
		}
	})
	t.Run("pop3 without TLS refused", func(t *testing.T) {
		_, _, code := run(t, nil, curl, append(base, plain+"/")...)
		if code == 0 {
			t.Error("curl logged in without TLS")
		}
	})
	t.Run("pop3 STLS retr", func(t *testing.T) {
		out, errOut, code := run(t, nil, curl, append(base, "--ssl-reqd", plain+"/1")...)
		if code != 0 {
			t.Fatalf("curl %d: %s", code, errOut)
		}
		if countSubjects([]byte(out), subjects[:1]) != 1 || !strings.Contains(out, "\r\n..leading dots\r\n") {
			t.Errorf("RETR 1 via curl = %q", out)
		}
	})
	t.Run("pop3s retr and uidl", func(t *testing.T) {
		out, errOut, code := run(t, nil, curl, append(base, implicit+"/3")...)
		if code != 0 {
			t.Fatalf("curl %d: %s", code, errOut)
		}
		if !strings.Contains(out, "Subject: "+subjects[2]+"\r\n") || !strings.Contains(out, "bare LF\r\n.dot line\r\n") {
			t.Errorf("RETR 3 via curl = %q", out)
		}
		out, errOut, code = run(t, nil, curl, append(base, "-X", "UIDL", implicit+"/")...)
		if code != 0 {
			t.Fatalf("curl %d: %s", code, errOut)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 {
			t.Errorf("UIDL via curl = %q", out)
		}
	})
	t.Run("pop3s dele", func(t *testing.T) {
		before := e.inboxUIDs(alice)
		_, errOut, code := run(t, nil, curl, append(base, "-X", "DELE", "-I", implicit+"/1")...)
		if code != 0 {
			t.Fatalf("curl %d: %s", code, errOut)
		}
		if after := e.inboxUIDs(alice); !slices.Equal(after, before[1:]) {
			t.Errorf("INBOX after curl DELE = %v, want %v", after, before[1:])
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, _, code := run(t, nil, curl, "-sS", "--cacert", e.stack.CertFile, "-u", alice+":wrong", implicit+"/")
		if code != 67 { // CURLE_LOGIN_DENIED
			t.Errorf("curl exit %d with a wrong password, want 67", code)
		}
	})
}

// TestFetchmail downloads with fetchmail in keep and no-keep modes over
// STLS and over implicit TLS, twice each: the second run must fetch
// nothing new.
func TestFetchmail(t *testing.T) {
	fm := testutil.NeedTool(t, "fetchmail")
	e := newEnv(t)
	for _, tc := range []struct {
		name      string
		implicit  bool
		keep      bool
		wantAfter int
	}{
		{"stls-keep", false, true, 3},
		{"tls-keep", true, true, 3},
		{"stls-nokeep", false, false, 0},
		{"tls-nokeep", true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, u := range e.inboxUIDs(alice) {
				e.expunge(alice, u)
			}
			subjects := e.fill(tc.name, 3)
			home := t.TempDir()
			out := filepath.Join(home, "mail.out")
			addr, tlsOpt := e.plainAddr, `sslproto "tls1.2+"`
			if tc.implicit {
				addr, tlsOpt = e.tlsAddr, "ssl"
			}
			keep := "nokeep"
			if tc.keep {
				keep = "keep"
			}
			rc := fmt.Sprintf(`set no bouncemail
set no syslog
poll 127.0.0.1 port %s proto POP3 uidl
  user "%s" there with password "%s" is "%s" here
  %s sslcertck sslcertfile "%s" sslcommonname "localhost"
  %s
  mda "cat >> %s"
`, port(t, addr), alice, testenv.Password, "tester", tlsOpt, e.stack.CertFile, keep, out)
			rcFile := filepath.Join(home, "fetchmailrc")
			if err := os.WriteFile(rcFile, []byte(rc), 0o600); err != nil {
				t.Fatal(err)
			}
			envv := []string{"HOME=" + home, "FETCHMAILHOME=" + home}
			args := []string{"--nodetach", "-f", rcFile, "--pidfile", filepath.Join(home, "pid"), "-v"}

			stdout, stderr, code := run(t, envv, fm, args...)
			if code != 0 {
				t.Fatalf("first fetchmail run: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "not the expected length") {
				t.Errorf("fetchmail saw a size mismatch:\n%s", stdout+stderr)
			}
			got, _ := os.ReadFile(out)
			if n := countSubjects(got, subjects); n != 3 {
				t.Fatalf("fetchmail delivered %d of 3 messages:\n%s\n%s", n, stdout, stderr)
			}
			if n := len(e.inboxUIDs(alice)); n != tc.wantAfter {
				t.Errorf("INBOX has %d messages after the first run, want %d", n, tc.wantAfter)
			}

			// Second run: nothing new (exit 1 = no mail).
			stdout, stderr, code = run(t, envv, fm, args...)
			if code != 1 {
				t.Fatalf("second fetchmail run: exit %d, want 1 (no mail)\n%s\n%s", code, stdout, stderr)
			}
			if again, _ := os.ReadFile(out); !bytes.Equal(again, got) {
				t.Errorf("second run delivered more mail:\n%s", again[len(got):])
			}

			// A new message is fetched by a third run, alone.
			newer := e.fill(tc.name+"-new", 1)
			stdout, stderr, code = run(t, envv, fm, args...)
			if code != 0 {
				t.Fatalf("third fetchmail run: exit %d\n%s\n%s", code, stdout, stderr)
			}
			all, _ := os.ReadFile(out)
			if n := countSubjects(all[len(got):], newer); n != 1 || countSubjects(all[len(got):], subjects) != 0 {
				t.Errorf("third run delivered:\n%s", all[len(got):])
			}
		})
	}
}

// TestGetmail uses getmail6 in leave-on-server mode: mail stays on the
// server and a second run fetches nothing.
func TestGetmail(t *testing.T) {
	gm := testutil.NeedTool(t, "getmail")
	e := newEnv(t)
	subjects := e.fill("getmail", 3)
	dir := t.TempDir()
	maildir := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// getmail refuses to deliver to a Maildir as root (as CI runs):
	// there it delivers as nobody, into a maildir nobody may write.
	asUser := ""
	if os.Geteuid() == 0 {
		asUser = "user = nobody"
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{maildir, filepath.Join(maildir, "cur"), filepath.Join(maildir, "new"), filepath.Join(maildir, "tmp")} {
			if err := os.Chmod(d, 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	rc := fmt.Sprintf(`[retriever]
type = SimplePOP3SSLRetriever
server = 127.0.0.1
port = %s
username = %s
password = %s
ca_certs = %s
ssl_cert_hostname = localhost

[destination]
type = Maildir
path = %s/
%s

[options]
delete = false
read_all = false
verbose = 2
`, port(t, e.tlsAddr), alice, testenv.Password, e.stack.CertFile, maildir, asUser)
	rcFile := filepath.Join(dir, "getmailrc")
	if err := os.WriteFile(rcFile, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--getmaildir", dir, "--rcfile", rcFile}
	envv := []string{"HOME=" + dir}
	readAll := func() []byte {
		var all []byte
		files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all = append(all, b...)
		}
		return all
	}

	stdout, stderr, code := run(t, envv, gm, args...)
	if code != 0 {
		t.Fatalf("getmail: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := countSubjects(readAll(), subjects); n != 3 {
		t.Fatalf("getmail stored %d of 3 messages\n%s\n%s", n, stdout, stderr)
	}
	if n := len(e.inboxUIDs(alice)); n != 3 {
		t.Errorf("INBOX has %d messages, want 3 left on the server", n)
	}
	first, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))

	stdout, stderr, code = run(t, envv, gm, args...)
	if code != 0 {
		t.Fatalf("second getmail: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("second getmail run:\n%s", stdout)
	if again, _ := filepath.Glob(filepath.Join(maildir, "new", "*")); len(again) != len(first) {
		t.Errorf("second run stored %d new files\n%s", len(again)-len(first), stdout)
	}
}
