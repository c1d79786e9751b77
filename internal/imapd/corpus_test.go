package imapd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailhouse/internal/config"
	"mailhouse/internal/message"
	"mailhouse/internal/testutil"
)

// TestCorpus appends every corpus message (converted to CRLF) and fetches
// ENVELOPE, BODYSTRUCTURE, BODY[], every part's BODY and BINARY section
// and MIME header, and searches TEXT, through go-imap's client, whose
// strict parser checks our syntax. Nothing may fail, hang or break the
// session.
func TestCorpus(t *testing.T) {
	files := testutil.CorpusFiles(t)
	ts := startServer(t, config.IMAP{})
	c := dialClient(t, ts, alice(), nil)
	if err := c.Create("Corpus", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	type appended struct {
		name string
		data []byte
	}
	var msgs []appended
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data := message.ToCRLF(raw)
		if len(data) == 0 {
			continue
		}
		app := c.Append("Corpus", int64(len(data)), nil)
		app.Write(data)
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatalf("%s: APPEND: %v", filepath.Base(f), err)
		}
		msgs = append(msgs, appended{filepath.Base(f), data})
	}
	if _, err := c.Select("Corpus", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		seq := uint32(i + 1)
		got, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{
			UID: true, Envelope: true, RFC822Size: true,
			BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
			BodySection:   []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: FETCH: %v", m.name, err)
		}
		if !bytes.Equal(got[0].BodySection[0].Bytes, m.data) {
			t.Errorf("%s: BODY[] differs from what was appended", m.name)
		}
		if got[0].Envelope == nil || got[0].BodyStructure == nil {
			t.Errorf("%s: no envelope or bodystructure", m.name)
			continue
		}
		var sections []*imap.FetchItemBodySection
		var binaries []*imap.FetchItemBinarySection
		got[0].BodyStructure.Walk(func(path []int, part imap.BodyStructure) bool {
			if len(path) == 0 || len(sections) > 60 {
				return true
			}
			p := append([]int(nil), path...)
			sections = append(sections,
				&imap.FetchItemBodySection{Part: p, Peek: true},
				&imap.FetchItemBodySection{Part: p, Specifier: imap.PartSpecifierMIME, Peek: true})
			if _, multi := part.(*imap.BodyStructureMultiPart); !multi {
				binaries = append(binaries, &imap.FetchItemBinarySection{Part: p, Peek: true})
			}
			return true
		})
		if len(sections) == 0 {
			continue
		}
		cmd := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{BodySection: sections})
		if _, err := cmd.Collect(); err != nil {
			t.Errorf("%s: FETCH sections: %v", m.name, err)
		}
		for _, b := range binaries {
			// A part with an unknown transfer encoding gives NO
			// [UNKNOWN-CTE]; anything else must work.
			_, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{BinarySection: []*imap.FetchItemBinarySection{b}}).Collect()
			if err != nil && !isUnknownCTE(err) {
				t.Errorf("%s: BINARY%v: %v", m.name, b.Part, err)
			}
		}
	}
	start := time.Now()
	if _, err := c.Search(&imap.SearchCriteria{Text: []string{"the"}}, nil).Wait(); err != nil {
		t.Errorf("SEARCH TEXT: %v", err)
	}
	if _, err := c.Search(&imap.SearchCriteria{Body: []string{"zzzz-not-there"}, Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "example"}}}, nil).Wait(); err != nil {
		t.Errorf("SEARCH BODY: %v", err)
	}
	t.Logf("%d messages; SEARCH TEXT over all took %v", len(msgs), time.Since(start))
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

func isUnknownCTE(err error) bool {
	e, ok := err.(*imap.Error)
	return ok && e.Code == "UNKNOWN-CTE"
}
