package importer_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/importer"
	"mailhouse/internal/testenv"
)

// TestExportRoundTrip exports an account to a Maildir and imports that
// into another account: same folders, flags, dates and bytes.
func TestExportRoundTrip(t *testing.T) {
	stack := testenv.NewStack(t, "alice", "bob")
	ctx := t.Context()
	root, _ := dovecotMaildir(t)
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer})
	if _, err := im.Maildir(ctx, "alice@example.test", root); err != nil {
		t.Fatal(err)
	}
	// A name with a dot and one below INBOX survive the Maildir++ naming.
	a, _ := stack.Store.GetAccount(ctx, "alice@example.test")
	for _, n := range []string{"v1.2 notes", "INBOX/sub"} {
		mb, err := stack.Store.CreateMailbox(ctx, a.ID, n, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stack.Deliverer.Append(ctx, mb.ID, []string{"$custom"}, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), []byte("Subject: "+n+"\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "export")
	res, err := im.Export(ctx, "alice@example.test", out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 11 {
		t.Fatalf("exported %+v", res)
	}
	if _, err := os.Stat(filepath.Join(out, ".v1&AC4-2 notes", "dovecot-keywords")); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(out, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Export(ctx, "alice@example.test", out); err == nil {
		t.Error("export into a non-empty folder succeeded")
	}
	os.Remove(filepath.Join(out, "x"))
	if _, err := im.Maildir(ctx, "bob@example.test", out); err != nil {
		t.Fatal(err)
	}
	snapshot := func(addr string) map[string][]string {
		acct, _ := stack.Store.GetAccount(ctx, addr)
		mbs, _ := stack.Store.ListMailboxes(ctx, acct.ID)
		m := map[string][]string{}
		for _, mb := range mbs {
			msgs, _ := stack.Store.ListMessages(ctx, mb.ID)
			for _, msg := range msgs {
				b, _ := stack.Store.ReadMessage(ctx, mb.ID, msg.UID)
				m[mb.Name] = append(m[mb.Name], msg.InternalDate.UTC().String()+" "+strings.Join(msg.Flags, " ")+"|"+string(b))
			}
			if mb.Subscribed {
				m[mb.Name] = append(m[mb.Name], "subscribed")
			}
		}
		return m
	}
	if a, b := snapshot("alice@example.test"), snapshot("bob@example.test"); !reflect.DeepEqual(a, b) {
		t.Errorf("round trip differs:\nalice %q\nbob   %q", a, b)
	}
}
