package smtpd_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bodyFile writes a text body of about n bytes for swaks --body.
func bodyFile(t *testing.T, n int) string {
	t.Helper()
	line := strings.Repeat("quota test line ", 4) + "\r\n"
	p := filepath.Join(t.TempDir(), "body.txt")
	if err := os.WriteFile(p, []byte(strings.Repeat(line, n/len(line))), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestQuotaSwaks: a 1 MB quota takes a message that fits, warns at 80%
// and 95% (once each), refuses the message that would cross it after
// DATA with 452 4.2.2, and a full mailbox at RCPT.
func TestQuotaSwaks(t *testing.T) {
	ts := startServer(t, nil, "alice", "bob")
	ctx := context.Background()
	if err := ts.Store.SetQuota(ctx, alice, 1<<20); err != nil {
		t.Fatal(err)
	}
	send := func(code int, want []string, size int) {
		t.Helper()
		ts.wantSwaks(t, code, want, ts.mx, "--suppress-data", "--from", "sender@other.test", "--to", alice,
			"--header", "Subject: quota", "--body", bodyFile(t, size))
	}
	send(0, nil, 850<<10) // 83%: the 80% warning
	inbox := ts.inbox(t, alice)
	if len(inbox) != 2 || !strings.Contains(string(inbox[1]), "Subject: Your mailbox is 80% full") {
		t.Fatalf("after 83%%: %d messages, want the message and the 80%% warning", len(inbox))
	}
	send(26, []string{"<** 452 4.2.2"}, 200<<10) // would cross 1 MB
	ts.wantInbox(t, alice, 2)
	send(0, nil, 10<<10) // 84%: no second warning
	ts.wantInbox(t, alice, 3)
	send(0, nil, 120<<10) // 96%: the 95% warning
	last := string(ts.wantInbox(t, alice, 5))
	if !strings.Contains(last, "Subject: Your mailbox is 95% full") {
		t.Fatalf("last message is not the 95%% warning:\n%.300s", last)
	}
	// Now over a lowered quota: refused at RCPT, and bob still gets mail.
	if err := ts.Store.SetQuota(ctx, alice, 512<<10); err != nil {
		t.Fatal(err)
	}
	ts.wantSwaks(t, 24, []string{"<** 452 4.2.2 Mailbox full"}, ts.mx, "--from", "sender@other.test", "--to", alice)
	ts.wantSwaks(t, 0, nil, ts.mx, "--from", "sender@other.test", "--to", bob)
	ts.wantInbox(t, bob, 1)
}
