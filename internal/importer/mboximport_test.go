package importer_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"mailhouse/internal/importer"
	"mailhouse/internal/testenv"
)

func TestMboxImport(t *testing.T) {
	stack := testenv.NewStack(t, "alice")
	dir := t.TempDir()
	file := filepath.Join(dir, "old.mbox")
	writeFile(t, file, importer.SampleMbox, time.Time{})
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer})
	res, err := im.Mbox(t.Context(), "alice@example.test", file, "Old/Mail")
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 3 {
		t.Fatalf("%+v", res)
	}
	mb := stack.Mailbox(t, "alice@example.test", "Old/Mail")
	msgs, err := stack.Store.ListMessages(t.Context(), mb.ID)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if want := time.Date(2019, 3, 4, 10, 30, 0, 0, time.UTC); !msgs[0].InternalDate.Equal(want) {
		t.Errorf("internal date %v, want %v", msgs[0].InternalDate, want)
	}
	b, _ := stack.Store.ReadMessage(t.Context(), mb.ID, msgs[0].UID)
	if !bytes.Contains(b, []byte("Hello.\r\nFrom the start")) || bytes.Contains(b, []byte("X-Status")) {
		t.Errorf("stored message: %q", b)
	}
	// Again: nothing new.
	res, err = im.Mbox(t.Context(), "alice@example.test", file, "Old/Mail")
	if err != nil || res.Imported != 0 || res.Skipped != 3 {
		t.Errorf("second run: %+v %v", res, err)
	}

	// A Thunderbird profile folder: Inbox, Lists.sbd/go, index files.
	tb := filepath.Join(dir, "Mail")
	writeFile(t, filepath.Join(tb, "Inbox"), importer.SampleMbox, time.Time{})
	writeFile(t, filepath.Join(tb, "Inbox.msf"), "// <!-- <mdb:mork:z v=\"1.4\"/> -->", time.Time{})
	writeFile(t, filepath.Join(tb, "Lists.sbd", "go"), importer.SampleMbox, time.Time{})
	writeFile(t, filepath.Join(tb, "Trash"), "", time.Time{})
	stack.AddUser(t, "carol@example.test")
	res, err = im.Mbox(t.Context(), "carol@example.test", tb, "")
	if err != nil || res.Imported != 6 || res.Folders != 3 {
		t.Fatalf("Thunderbird folder: %+v %v", res, err)
	}
	if mb := stack.Mailbox(t, "carol@example.test", "Lists/go"); mb.ID == 0 {
		t.Error("Lists/go missing")
	}
}

// TestTooLargeSkipped crosses MaxMessageBytes: the message is reported
// and skipped, the others imported.
func TestTooLargeSkipped(t *testing.T) {
	stack := testenv.NewStack(t, "alice")
	root := filepath.Join(t.TempDir(), "Maildir")
	mkMaildir(t, root)
	writeFile(t, filepath.Join(root, "cur", "1.M1.h:2,S"), "Subject: small\n\nx\n", time.Time{})
	writeFile(t, filepath.Join(root, "cur", "2.M2.h:2,S"), "Subject: big\n\n"+string(bytes.Repeat([]byte("y"), 500))+"\n", time.Time{})
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer, MaxMessageBytes: 200})
	res, err := im.Maildir(t.Context(), "alice@example.test", root)
	if err != nil || res.Imported != 1 || res.TooLarge != 1 {
		t.Errorf("%+v %v", res, err)
	}
}
