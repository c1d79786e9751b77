package backup_test

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailhouse/internal/backup"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testenv"
)

// smtpLoad sends messages to rcpt over SMTP from several connections
// until stop closes, and records the number of each one the server
// acknowledged (250 after DATA), in order.
type smtpLoad struct {
	mu    sync.Mutex
	acked []int
	wg    sync.WaitGroup
	stop  chan struct{}
	errs  chan error
}

func startLoad(t *testing.T, addr, rcpt string, conns int) *smtpLoad {
	l := &smtpLoad{stop: make(chan struct{}), errs: make(chan error, conns)}
	var next int
	var nextMu sync.Mutex
	for range conns {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c, err := smtp.Dial(addr)
			if err != nil {
				l.errs <- err
				return
			}
			defer c.Close()
			if err := c.Hello("load.test"); err != nil {
				l.errs <- err
				return
			}
			for {
				select {
				case <-l.stop:
					_ = c.Quit()
					return
				default:
				}
				nextMu.Lock()
				n := next
				next++
				nextMu.Unlock()
				if err := send(c, rcpt, n); err != nil {
					l.errs <- fmt.Errorf("message %d: %w", n, err)
					return
				}
				l.mu.Lock()
				l.acked = append(l.acked, n)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func send(c *smtp.Client, rcpt string, n int) error {
	if err := c.Mail("load@sender.test"); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: load@sender.test\r\nTo: %s\r\nSubject: load %d\r\nMessage-ID: <load-%d@sender.test>\r\n\r\nmessage %d\r\n%s\r\n",
		rcpt, n, n, n, strings.Repeat("filler line of text\r\n", 50))
	return w.Close() // returns after the 250 reply: acked
}

func (l *smtpLoad) ackedSoFar() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.acked...)
}

// waitFor waits until n messages were acked, failing after 30 s.
func (l *smtpLoad) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(l.ackedSoFar()) < n {
		if time.Now().After(deadline) {
			close(l.stop)
			t.Fatalf("only %d of %d messages acked in 30 s", len(l.ackedSoFar()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *smtpLoad) finish(t *testing.T) {
	close(l.stop)
	l.wg.Wait()
	close(l.errs)
	for err := range l.errs {
		t.Error(err)
	}
}

// TestBackupUnderSMTPLoadThenRestore: a backup taken while SMTP clients
// deliver, then restored into the stopped server's data folder, is clean
// and holds every message acknowledged before the backup started.
func TestBackupUnderSMTPLoadThenRestore(t *testing.T) {
	srv := testenv.Start(t, "", "alice")
	ctx := t.Context()
	dbPath := srv.Config.DataPath("mailhouse.db")
	load := startLoad(t, srv.Addr(t, "smtp"), "alice@example.test", 4)
	load.waitFor(t, 40)

	// As `mailhouse backup` does: its own store on the same file, in
	// another process in real life.
	other, err := sqlstore.Open(ctx, sqlstore.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	before := load.ackedSoFar()
	dir := filepath.Join(t.TempDir(), "backup-1")
	m, err := backup.Create(ctx, backup.Options{Store: other, Dir: dir, Hostname: testenv.Hostname, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	during := len(load.ackedSoFar())
	// Let the load go on after the backup, so the live store moves ahead.
	load.waitFor(t, during+20)
	load.finish(t)
	t.Logf("acked before backup: %d, backup holds %d messages, acked in all: %d", len(before), m.Counts.Messages, len(load.ackedSoFar()))
	if !m.Clean {
		t.Fatalf("backup copy has problems: %v", m.Problems)
	}
	if m.Counts.Messages < len(before) {
		t.Fatalf("backup has %d messages; %d were acked before it started", m.Counts.Messages, len(before))
	}

	// The server still runs: restore must refuse.
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Dir: dir, DBPath: dbPath}); !errors.Is(err, backup.ErrInUse) {
		t.Fatalf("restore while the server runs: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.App.Shutdown(sctx); err != nil {
		t.Logf("shutdown: %v", err) // the store is closed all the same
	}
	res, err := backup.Restore(ctx, backup.RestoreOptions{Dir: dir, DBPath: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res.Previous); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}

	st, err := sqlstore.Open(ctx, sqlstore.Options{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Check(ctx, store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("restored store has problems: %v", rep.Problems)
	}
	if rep.Counts != m.Counts {
		t.Errorf("restored counts %v, manifest %v", rep.Counts, m.Counts)
	}
	// Every message acked before the backup began is in the inbox.
	have := inboxSubjects(t, st, "alice@example.test")
	for _, n := range before {
		if !have[fmt.Sprintf("load %d", n)] {
			t.Errorf("message %d was acked before the backup but is not in the restored store", n)
		}
	}
	if len(have) != m.Counts.Messages {
		t.Errorf("inbox holds %d messages, manifest counts %d", len(have), m.Counts.Messages)
	}
}

func inboxSubjects(t *testing.T, st store.Store, addr string) map[string]bool {
	t.Helper()
	ctx := t.Context()
	a, err := st.GetAccount(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mm := range msgs {
		b, err := st.ReadMessage(ctx, mb.ID, mm.UID)
		if err != nil {
			t.Fatal(err)
		}
		s := message.Parse(b)
		have[s.Envelope.Subject] = true
	}
	return have
}

func TestVerifyFindsDamage(t *testing.T) {
	stack := testenv.NewStack(t, "alice")
	ctx := t.Context()
	mb := stack.Mailbox(t, "alice@example.test", "INBOX")
	for i := range 3 {
		if _, err := stack.Deliverer.Append(ctx, mb.ID, nil, time.Time{}, fmt.Appendf(nil, "Subject: %d\r\n\r\nx\r\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "mailhouse.toml")
	if err := os.WriteFile(cfg, []byte("hostname = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	m, err := backup.Create(ctx, backup.Options{Store: stack.Store, Dir: dir, ConfigPath: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Messages != 3 || len(m.Files) != 2 {
		t.Fatalf("manifest = %+v", m)
	}
	if _, rep, err := backup.Verify(ctx, dir); err != nil || !rep.Clean() {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
	// A second backup into the same folder is refused.
	if _, err := backup.Create(ctx, backup.Options{Store: stack.Store, Dir: dir}); err == nil {
		t.Error("backup into a non-empty folder succeeded")
	}
	// One flipped byte is found.
	db := filepath.Join(dir, backup.DatabaseFile)
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := backup.Verify(ctx, dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("verify of a damaged backup: %v", err)
	}
	target := filepath.Join(t.TempDir(), "new.db")
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Dir: dir, DBPath: target}); err == nil {
		t.Error("restore of a damaged backup succeeded")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused restore left %s", target)
	}
	// A folder without a manifest is not a backup.
	if err := os.Remove(filepath.Join(dir, backup.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := backup.Verify(ctx, dir); err == nil {
		t.Error("verify without a manifest succeeded")
	}
}
