package importer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/importer"
	"mailhouse/internal/message"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// corpus reads every corpus message.
func corpus(t *testing.T) ([]string, [][]byte) {
	files := testutil.CorpusFiles(t)
	var data [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b)
	}
	return files, data
}

// TestCorpusMaildir imports the whole corpus as a Maildir: every
// message is stored byte for byte (with CRLF line endings), none
// crashes or hangs the import.
func TestCorpusMaildir(t *testing.T) {
	files, data := corpus(t)
	stack := testenv.NewStack(t, "alice")
	root := filepath.Join(t.TempDir(), "Maildir")
	mkMaildir(t, root)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, b := range data {
		writeFile(t, filepath.Join(root, "cur", fmt.Sprintf("%d.M%dP1.corpus:2,S", 1600000000+i, i)), string(b), base.Add(time.Duration(i)*time.Second))
	}
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer})
	res, err := im.Maildir(t.Context(), "alice@example.test", root)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != len(files) || res.Failed != 0 {
		t.Fatalf("%+v of %d", res, len(files))
	}
	mb := stack.Mailbox(t, "alice@example.test", "INBOX")
	msgs, _ := stack.Store.ListMessages(t.Context(), mb.ID)
	for i, m := range msgs {
		got, _ := stack.Store.ReadMessage(t.Context(), mb.ID, m.UID)
		if !bytes.Equal(got, message.ToCRLF(data[i])) {
			t.Errorf("%s: stored bytes differ", filepath.Base(files[i]))
		}
	}
	res, err = im.Maildir(t.Context(), "alice@example.test", root)
	if err != nil || res.Imported != 0 || res.Skipped != len(files) {
		t.Errorf("second run: %+v %v", res, err)
	}
}

// TestCorpusMbox writes the corpus into one mbox (mboxrd escaping) and
// imports it: the same number of messages, each body as written.
func TestCorpusMbox(t *testing.T) {
	files, data := corpus(t)
	var mbox bytes.Buffer
	for _, b := range data {
		mbox.WriteString("From corpus@example.test Sat Jan  1 00:00:00 2000\n")
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if k := strings.IndexFunc(line, func(r rune) bool { return r != '>' }); k >= 0 && strings.HasPrefix(line[k:], "From ") {
				mbox.WriteString(">")
			}
			mbox.WriteString(line)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			mbox.WriteString("\n")
		}
		mbox.WriteString("\n")
	}
	path := filepath.Join(t.TempDir(), "corpus.mbox")
	writeFile(t, path, mbox.String(), time.Time{})
	stack := testenv.NewStack(t, "alice")
	im := importer.New(importer.Options{Store: stack.Store, Deliverer: stack.Deliverer})
	res, err := im.Mbox(t.Context(), "alice@example.test", path, "")
	if err != nil {
		t.Fatal(err)
	}
	// All share one date: identical messages would be one key, but the
	// corpus has no exact duplicates.
	if res.Imported+res.Skipped != len(files) || res.Failed != 0 {
		t.Fatalf("%+v of %d", res, len(files))
	}
	mb := stack.Mailbox(t, "alice@example.test", "INBOX")
	msgs, _ := stack.Store.ListMessages(t.Context(), mb.ID)
	if len(msgs) != res.Imported {
		t.Fatalf("%d stored", len(msgs))
	}
	for i, m := range msgs {
		got, _ := stack.Store.ReadMessage(t.Context(), mb.ID, m.UID)
		want := data[i]
		if !bytes.HasSuffix(want, []byte("\n")) {
			want = append(bytes.Clone(want), '\n')
		}
		want = message.ToCRLF(want)
		// State headers (Status, X-UID, ...) are removed: compare bodies.
		if importer.HasMboxState(want) {
			want, got = importer.Body(want), importer.Body(got)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: stored bytes differ", filepath.Base(files[i]))
		}
	}
}
