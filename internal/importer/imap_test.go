package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/importer"
	"mailhouse/internal/testenv"
)

// fillSource gives bob@example.test on the source server a few folders
// with flags, keywords and old internal dates, including a message
// without Message-ID and two identical copies of one message.
func fillSource(t *testing.T, src *testenv.Server) int {
	t.Helper()
	ctx := t.Context()
	st, d := src.App.Store, src.App.Deliverer
	acct, err := st.GetAccount(ctx, "bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateMailbox(ctx, acct.ID, "Projects/2023", ""); err != nil {
		t.Fatal(err)
	}
	day := func(n int) time.Time { return time.Date(2021, 6, n, 8, 0, 0, 0, time.FixedZone("", 2*3600)) }
	add := func(box string, flags []string, date time.Time, body string) {
		mb := src.Mailbox(t, "bob@example.test", box)
		if _, err := d.Append(ctx, mb.ID, flags, date, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i := range 12 {
		add("INBOX", []string{`\Seen`}, day(1+i%20), fmt.Sprintf("Subject: inbox %d\r\nMessage-ID: <in%d@src>\r\n\r\nhello %d\r\n", i, i, i))
		n++
	}
	add("INBOX", []string{`\Flagged`, "$Important"}, day(22), "Subject: flagged\r\nMessage-ID: <fl@src>\r\n\r\nx\r\n")
	add("INBOX", nil, day(23), "Subject: no message id\r\n\r\nno id here\r\n")
	twin := "Subject: twin\r\nMessage-ID: <twin@src>\r\n\r\nsame\r\n"
	add("INBOX", nil, day(24), twin)
	add("INBOX", nil, day(24), twin)
	add("Sent", []string{`\Seen`, `\Answered`}, day(25), "Subject: sent\r\nMessage-ID: <sent@src>\r\n\r\nsent\r\n")
	add("Projects/2023", []string{`\Seen`}, day(26), "Subject: project\r\nMessage-ID: <p@src>\r\n\r\n"+strings.Repeat("line\r\n", 2000))
	return n + 6
}

func source(srv *testenv.Server, t *testing.T) importer.IMAPSource {
	return importer.IMAPSource{Addr: srv.Addr(t, "imaps"), ImplicitTLS: true, TLS: clientTLS(srv), Username: "bob@example.test", Password: testenv.Password}
}

// TestIMAPImportTwiceNoDuplicates copies an account from a second
// mailhouse over IMAPS on loopback, twice: the second run adds nothing;
// folders, flags and dates match what the source shows over IMAP.
func TestIMAPImportTwiceNoDuplicates(t *testing.T) {
	srcSrv := testenv.Start(t, "", "bob")
	total := fillSource(t, srcSrv)
	dst := testenv.Start(t, "", "alice")
	im := newImporter(dst)
	ctx := t.Context()

	res, err := im.IMAP(ctx, "alice@example.test", source(srcSrv, t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != total || res.Skipped != 0 || res.Failed != 0 {
		t.Fatalf("first run: %+v, want %d imported", res, total)
	}
	res, err = im.IMAP(ctx, "alice@example.test", source(srcSrv, t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 0 || res.Skipped != total {
		t.Fatalf("second run: %+v, want all %d skipped", res, total)
	}
	if n := count(t, dst.App.Store, "alice@example.test"); n != total {
		t.Fatalf("target holds %d messages after two runs, want %d", n, total)
	}
	// What a client sees on both sides is the same.
	want := imapFolders(t, imapLogin(t, srcSrv, "bob@example.test"))
	got := imapFolders(t, imapLogin(t, dst, "alice@example.test"))
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Errorf("%s: %d messages, source has %d", name, len(g), len(w))
			continue
		}
		for i := range w {
			if g[i].Subject != w[i].Subject || strings.Join(g[i].Flags, " ") != strings.Join(w[i].Flags, " ") ||
				!g[i].Date.Equal(w[i].Date) || g[i].Size != w[i].Size {
				t.Errorf("%s #%d: got %+v, source %+v", name, i+1, g[i], w[i])
			}
		}
	}

	// A new message at the source is the only one a third run copies.
	mb := srcSrv.Mailbox(t, "bob@example.test", "INBOX")
	if _, err := srcSrv.App.Deliverer.Append(ctx, mb.ID, nil, time.Time{}, []byte("Subject: late\r\nMessage-ID: <late@src>\r\n\r\nlate\r\n")); err != nil {
		t.Fatal(err)
	}
	res, err = im.IMAP(ctx, "alice@example.test", source(srcSrv, t))
	if err != nil || res.Imported != 1 || res.Skipped != total {
		t.Fatalf("third run: %+v, %v", res, err)
	}
}

// cancelAfter is a progress writer that cancels the import after n
// lines about copying (not listing), as an admin pressing Ctrl-C would.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelAfter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	if bytes.Contains(b, []byte("folder listing ")) {
		return len(b), nil
	}
	if w.n--; w.n == 0 {
		w.cancel()
	}
	return len(b), nil
}

// TestIMAPImportResumes interrupts an import half-way; running it again
// copies only the rest.
func TestIMAPImportResumes(t *testing.T) {
	srcSrv := testenv.Start(t, "", "bob")
	total := fillSource(t, srcSrv)
	dst := testenv.Start(t, "", "alice")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &cancelAfter{n: 6, cancel: cancel}
	p := importer.NewProgress(w, "import")
	importer.SetProgressInterval(p, 0) // a line per message
	im := importer.New(importer.Options{Store: dst.App.Store, Deliverer: dst.App.Deliverer, Progress: p})
	res, err := im.IMAP(ctx, "alice@example.test", source(srcSrv, t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v (%+v)", err, res)
	}
	first := count(t, dst.App.Store, "alice@example.test")
	if first == 0 || first >= total {
		t.Fatalf("interrupted import stored %d of %d", first, total)
	}
	im = importer.New(importer.Options{Store: dst.App.Store, Deliverer: dst.App.Deliverer})
	res, err = im.IMAP(t.Context(), "alice@example.test", source(srcSrv, t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != total-first || res.Skipped != first {
		t.Errorf("resumed run: %+v; %d were stored before", res, first)
	}
	if n := count(t, dst.App.Store, "alice@example.test"); n != total {
		t.Errorf("after resuming: %d messages, want %d", n, total)
	}
}

func TestIMAPImportErrors(t *testing.T) {
	srcSrv := testenv.Start(t, "", "bob")
	dst := testenv.NewStack(t, "alice")
	im := importer.New(importer.Options{Store: dst.Store, Deliverer: dst.Deliverer})
	src := source(srcSrv, t)
	src.Password = "wrong"
	if _, err := im.IMAP(t.Context(), "alice@example.test", src); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("wrong password: %v", err)
	}
	// A certificate we do not trust is refused.
	src = source(srcSrv, t)
	src.TLS = nil
	if _, err := im.IMAP(t.Context(), "alice@example.test", src); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if _, err := im.IMAP(t.Context(), "nobody@example.test", source(srcSrv, t)); err == nil {
		t.Error("import into a missing account succeeded")
	}
	// STARTTLS on the plain port works too.
	src = source(srcSrv, t)
	src.Addr, src.ImplicitTLS = srcSrv.Addr(t, "imap"), false
	if _, err := im.IMAP(t.Context(), "alice@example.test", src); err != nil {
		t.Errorf("STARTTLS: %v", err)
	}
}

func TestParseIMAPURL(t *testing.T) {
	for in, want := range map[string]importer.IMAPSource{
		"imaps://alice@old.example":                  {Addr: "old.example:993", ImplicitTLS: true, Username: "alice"},
		"imap://alice@old.example":                   {Addr: "old.example:143", Username: "alice"},
		"imaps://alice@old.example@mail.old.example": {Addr: "mail.old.example:993", ImplicitTLS: true, Username: "alice@old.example"},
		"imaps://a%40b.example@[::1]:1993":           {Addr: "[::1]:1993", ImplicitTLS: true, Username: "a@b.example"},
	} {
		got, err := importer.ParseIMAPURL(in)
		if err != nil || got.Addr != want.Addr || got.ImplicitTLS != want.ImplicitTLS || got.Username != want.Username {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"http://x", "imaps://", "pop3://a@b", "imaps://a@b/INBOX"} {
		if _, err := importer.ParseIMAPURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
