package importer_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"mailhouse/internal/testenv"
)

func msg(subject string) string {
	return fmt.Sprintf("From: old@old.example\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s@old.example>\n\nbody of %s\n", subject, subject, subject)
}

// dovecotMaildir writes a Maildir the way Dovecot keeps one: INBOX at
// the root, Maildir++ folders ".Sent" and ".Archive.2024" and one with
// a modified UTF-7 name, flags in the file names, a dovecot-keywords
// file, a dovecot-uidlist, and the received date as the file time.
func dovecotMaildir(t *testing.T) (string, map[string][]seenMessage) {
	root := filepath.Join(t.TempDir(), "Maildir")
	d := func(day int) time.Time { return time.Date(2019, 3, day, 10, 30, 0, 0, time.UTC) }
	mkMaildir(t, root)
	writeFile(t, filepath.Join(root, "cur", "1551000001.M1P1.old:2,S"), msg("seen"), d(1))
	writeFile(t, filepath.Join(root, "cur", "1551000002.M2P1.old:2,RS"), msg("answered"), d(2))
	writeFile(t, filepath.Join(root, "cur", "1551000003.M3P1.old:2,FSa"), msg("flagged"), d(3))
	writeFile(t, filepath.Join(root, "new", "1551000004.M4P1.old"), msg("unread"), d(4))
	writeFile(t, filepath.Join(root, "dovecot-keywords"), "0 $Label1\n1 Junk\n", time.Time{})
	// The uidlist puts "unread" first although its name sorts last.
	writeFile(t, filepath.Join(root, "dovecot-uidlist"), "3 V1551000000 N5\n1 :1551000004.M4P1.old\n2 :1551000001.M1P1.old\n3 :1551000002.M2P1.old\n4 :1551000003.M3P1.old\n", time.Time{})

	sent := filepath.Join(root, ".Sent")
	mkMaildir(t, sent)
	writeFile(t, filepath.Join(sent, "cur", "1552000001.M1P1.old,S=120:2,S"), msg("sent one"), d(5))
	writeFile(t, filepath.Join(sent, "cur", "1552000002.M2P1.old,S=120:2,RSP"), msg("sent two"), d(6))

	arch := filepath.Join(root, ".Archive.2024")
	mkMaildir(t, arch)
	writeFile(t, filepath.Join(arch, "cur", "1553000001.M1P1.old:2,DS"), msg("draft kept"), d(7))
	writeFile(t, filepath.Join(arch, "cur", "1553000002.M2P1.old:2,FRS"), msg("flagged answered"), d(8))

	// "Été" in modified UTF-7.
	ete := filepath.Join(root, ".&AMk-t&AOk-")
	mkMaildir(t, ete)
	writeFile(t, filepath.Join(ete, "cur", "1554000001.M1P1.old:2,"), msg("summer"), d(9))

	writeFile(t, filepath.Join(root, "subscriptions"), "V\t2\n\nSent\nArchive\t2024\n", time.Time{})

	want := map[string][]seenMessage{
		"INBOX": {
			{Subject: "unread", Date: d(4)},
			{Subject: "seen", Flags: []string{`\Seen`}, Date: d(1)},
			{Subject: "answered", Flags: []string{`\Answered`, `\Seen`}, Date: d(2)},
			{Subject: "flagged", Flags: []string{"$Label1", `\Flagged`, `\Seen`}, Date: d(3)},
		},
		"Sent": {
			{Subject: "sent one", Flags: []string{`\Seen`}, Date: d(5)},
			{Subject: "sent two", Flags: []string{"$Forwarded", `\Answered`, `\Seen`}, Date: d(6)},
		},
		"Archive/2024": {
			{Subject: "draft kept", Flags: []string{`\Draft`, `\Seen`}, Date: d(7)},
			{Subject: "flagged answered", Flags: []string{`\Answered`, `\Flagged`, `\Seen`}, Date: d(8)},
		},
		"Été": {{Subject: "summer", Date: d(9)}},
	}
	return root, want
}

// TestMaildirImportShowsOverIMAP imports a Dovecot-style Maildir and
// checks, as a mail client sees them over IMAP, the folders, flags,
// dates and order.
func TestMaildirImportShowsOverIMAP(t *testing.T) {
	srv := testenv.Start(t, "", "alice")
	root, want := dovecotMaildir(t)
	im := newImporter(srv)
	res, err := im.Maildir(t.Context(), "alice@example.test", root)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 9 || res.Folders != 4 || res.Failed != 0 {
		t.Fatalf("result: %+v", res)
	}
	c := imapLogin(t, srv, "alice@example.test")
	got := imapFolders(t, c)
	for name, msgs := range want {
		g := got[name]
		if len(g) != len(msgs) {
			t.Errorf("%s: %d messages over IMAP, want %d: %+v", name, len(g), len(msgs), g)
			continue
		}
		for i, w := range msgs {
			if g[i].Subject != w.Subject || !reflect.DeepEqual(g[i].Flags, w.Flags) || !g[i].Date.Equal(w.Date) {
				t.Errorf("%s #%d: got %q %v %v, want %q %v %v", name, i+1, g[i].Subject, g[i].Flags, g[i].Date, w.Subject, w.Flags, w.Date)
			}
		}
	}
	// Subscriptions came along.
	for name, sub := range map[string]bool{"Sent": true, "Archive/2024": true, "Été": false} {
		if mb := srv.Mailbox(t, "alice@example.test", name); mb.Subscribed != sub {
			t.Errorf("%s subscribed = %v, want %v", name, mb.Subscribed, sub)
		}
	}

	// A second run adds nothing.
	res, err = im.Maildir(t.Context(), "alice@example.test", root)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 0 || res.Skipped != 9 {
		t.Errorf("second run: %+v", res)
	}
	if n := count(t, srv.App.Store, "alice@example.test"); n != 9 {
		t.Errorf("account holds %d messages after two runs, want 9", n)
	}
}
