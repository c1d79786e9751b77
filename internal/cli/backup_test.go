package cli

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

func TestBackupRestoreCheckCLI(t *testing.T) {
	env, cfg, out, c := opsEnv(t, "alice")
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := st.GetAccount(ctx, "alice@example.test")
	inbox, _ := st.GetMailbox(ctx, a.ID, "INBOX")
	for range 4 {
		if _, err := st.Deliver(ctx, store.Delivery{Body: []byte("Subject: x\r\n\r\ny\r\n"), Targets: []store.Target{{Mailbox: inbox.ID, InternalDate: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The "server" keeps its store open throughout the backup.
	dir := filepath.Join(t.TempDir(), "backup")
	o, err := runCmd(env, out, cfg, Backup, dir)
	if err != nil || !strings.Contains(o, "4 messages") {
		t.Fatalf("backup: %q %v", o, err)
	}
	if o, err := runCmd(env, out, cfg, Check); err != nil || !strings.Contains(o, "no problems found") {
		t.Errorf("check: %q %v", o, err)
	}
	if o, err := runCmd(env, out, cfg, Check, "--backup", dir); err != nil || !strings.Contains(o, "matches its SHA-256") {
		t.Errorf("check --backup: %q %v", o, err)
	}
	if _, err := runCmd(env, out, cfg, Restore, dir); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("restore while the server runs: %v", err)
	}

	// Damage the counters: check reports, --repair fixes.
	db, err := sql.Open("sqlite", "file:"+dbPath(c)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE mailboxes SET message_count = 40 WHERE name = 'INBOX'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if o, err := runCmd(env, out, cfg, Check); err == nil || !strings.Contains(o, "counters") || !strings.Contains(o, "repairable") {
		t.Errorf("check of a damaged store: %q %v", o, err)
	}
	if o, err := runCmd(env, out, cfg, Check, "--repair"); err != nil || !strings.Contains(o, "(repaired)") {
		t.Errorf("check --repair: %q %v", o, err)
	}
	if o, err := runCmd(env, out, cfg, Check, "--json"); err != nil || !strings.Contains(o, `"messages": 4`) {
		t.Errorf("check --json: %q %v", o, err)
	}

	// More mail after the backup, then the server stops and the backup
	// comes back: the later mail is gone, the earlier is there.
	if _, err := st.Deliver(ctx, store.Delivery{Body: []byte("Subject: later\r\n\r\n"), Targets: []store.Target{{Mailbox: inbox.ID}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	o, err = runCmd(env, out, cfg, Restore, dir)
	if err != nil || !strings.Contains(o, "4 messages") || !strings.Contains(o, "before-restore") {
		t.Fatalf("restore: %q %v", o, err)
	}
	st, err = env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.AccountUsage(ctx, a.ID)
	if u.Messages != 4 {
		t.Errorf("restored store holds %d messages", u.Messages)
	}
}
