package imapd_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// TestPythonImaplib runs testdata/imaplib_client.py against the server:
// STARTTLS, login, list, select, append, fetch, search, store, copy, move,
// expunge, and IDLE seeing a delivery.
func TestPythonImaplib(t *testing.T) {
	py := testutil.NeedTool(t, "python3")
	ts := startServer(t, config.IMAP{})
	host, port := hostPort(ts.plainAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/imaplib_client.py", host, port, ts.CertFile, alice(), testenv.Password)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "IDLING" {
			// As SMTP would deliver it.
			ts.deliver(t, alice(), testMessage("delivered while idling"))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imaplib script: %v\nstdout: %q\nstderr: %s", err, lines, stderr.String())
	}
	if !slices.Contains(lines, "DONE") {
		t.Fatalf("script did not finish: %q %s", lines, stderr.String())
	}
}

// TestCurl fetches a message and lists mailboxes with curl, over
// STARTTLS (imap:// --ssl-reqd) and implicit TLS (imaps://).
func TestCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	ts := startServer(t, config.IMAP{})
	ts.deliver(t, alice(), testMessage("for curl"))
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		base := []string{"-sS", "--cacert", ts.CertFile, "-u", alice() + ":" + testenv.Password}
		out, err := exec.CommandContext(ctx, curl, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("--ssl-reqd", "imap://"+ts.plainAddr+"/INBOX;UID=1")
	if !strings.Contains(out, "Subject: for curl") || !strings.Contains(out, "Hello for curl") {
		t.Errorf("imap:// fetch: %q", out)
	}
	out = run("imaps://" + ts.tlsAddr + "/")
	if !strings.Contains(out, `"Archive"`) || !strings.Contains(out, "INBOX") {
		t.Errorf("imaps:// list: %q", out)
	}
	out = run("imaps://"+ts.tlsAddr+"/INBOX", "-X", "SEARCH SUBJECT curl")
	if !strings.Contains(out, "SEARCH 1") {
		t.Errorf("imaps:// search: %q", out)
	}
	// Without --ssl-reqd curl would log in in clear; the server refuses.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, curl, "-sS", "-u", alice()+":x", "imap://"+ts.plainAddr+"/INBOX;UID=1").CombinedOutput(); err == nil {
		t.Errorf("plaintext login accepted: %s", out)
	}
}

// TestMbsync syncs INBOX to a local Maildir with mbsync (isync) and back:
// a flag set locally and a message deleted locally reach the server, and
// a message added locally is appended.
func TestMbsync(t *testing.T) {
	mbsync := testutil.NeedTool(t, "mbsync")
	ts := startServer(t, config.IMAP{})
	for i := range 3 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("sync %d", i+1)))
	}
	dir := t.TempDir()
	host, port := hostPort(ts.plainAddr)
	rc := filepath.Join(dir, "mbsyncrc")
	maildir := filepath.Join(dir, "mail")
	os.MkdirAll(maildir, 0o700)
	conf := fmt.Sprintf(`IMAPAccount test
Host %s
Port %s
User %s
Pass "%s"
SSLType STARTTLS
CertificateFile %s
AuthMechs PLAIN
Timeout 20

IMAPStore remote
Account test

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
Sync All
`, host, port, alice(), testenv.Password, ts.CertFile, maildir, maildir)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	sync := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// -Dn shows the protocol (AUTHENTICATE data masked).
		out, err := exec.CommandContext(ctx, mbsync, "-Dn", "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
		return string(out)
	}
	// isync 1.4 compresses when the server offers COMPRESS=DEFLATE (RFC
	// 4978), flushing with Z_PARTIAL_FLUSH: the whole sync runs over it.
	if out := sync(); !strings.Contains(out, "OK DEFLATE active") {
		t.Errorf("mbsync did not use COMPRESS:\n%s", out)
	}
	files := func() []string {
		var out []string
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(maildir, "INBOX", sub))
			for _, e := range ents {
				out = append(out, filepath.Join(maildir, "INBOX", sub, e.Name()))
			}
		}
		slices.Sort(out)
		return out
	}
	got := files()
	if len(got) != 3 {
		t.Fatalf("Maildir has %d messages after the first sync: %v", len(got), got)
	}
	// Find the local files by subject.
	bySubject := map[string]string{}
	for _, f := range got {
		b, _ := os.ReadFile(f)
		for _, s := range []string{"sync 1", "sync 2", "sync 3"} {
			if strings.Contains(string(b), "Subject: "+s+"\r\n") || strings.Contains(string(b), "Subject: "+s+"\n") {
				bySubject[s] = f
			}
		}
	}
	// Flag "sync 1" locally (Maildir info ":2,F"), delete "sync 2", add a
	// new message.
	f1 := bySubject["sync 1"]
	base := strings.SplitN(filepath.Base(f1), ":2,", 2)[0]
	if err := os.Rename(f1, filepath.Join(maildir, "INBOX", "cur", base+":2,FS")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bySubject["sync 2"]); err != nil {
		t.Fatal(err)
	}
	local := "From: me@example.test\nSubject: written offline\n\nlocal body\n"
	if err := os.WriteFile(filepath.Join(maildir, "INBOX", "new", "1700000000.local.host"), []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	sync()

	ctx := context.Background()
	mb := ts.Mailbox(t, alice(), "INBOX")
	msgs, err := ts.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string][]string{}
	for _, m := range msgs {
		b, err := ts.Store.ReadMessage(ctx, mb.ID, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: "); ok {
				subjects[s] = m.Flags
				break
			}
		}
	}
	if _, ok := subjects["sync 2"]; ok {
		t.Errorf("message deleted locally is still on the server: %v", subjects)
	}
	if f, ok := subjects["sync 1"]; !ok || !slices.Contains(f, store.FlagFlagged) || !slices.Contains(f, store.FlagSeen) {
		t.Errorf("flags set locally did not reach the server: %v", subjects)
	}
	if _, ok := subjects["written offline"]; !ok {
		t.Errorf("local message not appended: %v", subjects)
	}
	if len(msgs) != 3 {
		t.Errorf("server has %d messages, want 3: %v", len(msgs), subjects)
	}
}
