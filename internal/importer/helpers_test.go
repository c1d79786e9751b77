package importer_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/importer"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// newImporter builds an Importer on a whole running server.
func newImporter(srv *testenv.Server) *importer.Importer {
	return importer.New(importer.Options{Store: srv.App.Store, Deliverer: srv.App.Deliverer})
}

// writeFile writes a file and sets its modification time.
func writeFile(t *testing.T, path, content string, mtime time.Time) {
	writeFileB(t, path, content, mtime)
}

func writeFileB(t testing.TB, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func mkMaildir(t *testing.T, dir string) { mkMaildirB(t, dir) }

func mkMaildirB(t testing.TB, dir string) {
	t.Helper()
	for _, s := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// imapLogin logs in to the server's IMAPS port as a user would.
func imapLogin(t *testing.T, srv *testenv.Server, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(srv.Addr(t, "imaps"), &imapclient.Options{TLSConfig: srv.ClientTLS.Clone()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// seenMessage is what a client sees of a message.
type seenMessage struct {
	Flags   []string
	Date    time.Time
	Subject string
	Size    int64
}

// imapFolders lists the mailboxes and what each holds, over IMAP.
func imapFolders(t *testing.T, c *imapclient.Client) map[string][]seenMessage {
	t.Helper()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]seenMessage{}
	for _, l := range list {
		if _, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("EXAMINE %s: %v", l.Mailbox, err)
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			Flags: true, InternalDate: true, Envelope: true, RFC822Size: true,
		}).Collect()
		if err != nil {
			// An empty mailbox answers 1:* with an error on some servers.
			msgs = nil
		}
		out[l.Mailbox] = nil
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				flags = append(flags, string(f))
			}
			slices.Sort(flags)
			sm := seenMessage{Flags: flags, Date: m.InternalDate, Size: m.RFC822Size}
			if m.Envelope != nil {
				sm.Subject = m.Envelope.Subject
			}
			out[l.Mailbox] = append(out[l.Mailbox], sm)
		}
	}
	return out
}

// count is how many messages an account holds in all.
func count(t *testing.T, st store.Store, address string) int {
	t.Helper()
	a, err := st.GetAccount(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.AccountUsage(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Messages
}

func clientTLS(srv *testenv.Server) *tls.Config { return srv.ClientTLS.Clone() }
