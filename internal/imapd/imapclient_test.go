package imapd_test

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/config"
	"mailhouse/internal/testenv"
)

// event is what a session was told without asking.
type event struct {
	kind  string // "exists", "expunge", "flags"
	n     uint32
	flags []imap.Flag
}

func dialClient(t *testing.T, ts *testServer, user string, events chan<- event) *imapclient.Client {
	t.Helper()
	o := &imapclient.Options{TLSConfig: ts.ClientTLS}
	if events != nil {
		o.UnilateralDataHandler = &imapclient.UnilateralDataHandler{
			Expunge: func(seq uint32) { events <- event{kind: "expunge", n: seq} },
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					events <- event{kind: "exists", n: *d.NumMessages}
				}
			},
			Fetch: func(m *imapclient.FetchMessageData) {
				buf, err := m.Collect()
				if err == nil && buf.Flags != nil {
					events <- event{kind: "flags", n: m.SeqNum, flags: buf.Flags}
				}
			},
		}
	}
	c, err := imapclient.DialStartTLS(ts.plainAddr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEvent waits for an event: it comes without the client asking, a
// moment after the change (allow 10 s: a loaded machine may take any
// time; a lost event never comes).
func waitEvent(t *testing.T, events <-chan event, kind string) event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 10 s", kind)
		}
	}
}

func TestImapclientMailboxes(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialClient(t, ts, alice(), nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{imap.CapIMAP4rev2, imap.CapIdle, imap.CapMove, imap.CapUIDPlus, imap.CapSpecialUse, imap.CapESearch, imap.CapListStatus} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing", want)
		}
	}
	if err := c.Create("Projects/2024/Q1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Entwürfe", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Receipts", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("INBOX", nil).Wait(); err == nil {
		t.Error("CREATE INBOX succeeded")
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, NumUnseen: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*imap.ListData{}
	for _, l := range list {
		names[l.Mailbox] = l
	}
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects", "Projects/2024", "Projects/2024/Q1", "Entwürfe", "Receipts"} {
		if names[n] == nil {
			t.Errorf("LIST lacks %q (got %v)", n, slices.Collect(func(yield func(string) bool) {
				for k := range names {
					yield(k)
				}
			}))
		}
	}
	if l := names["Sent"]; l == nil || !slices.Contains(l.Attrs, imap.MailboxAttrSent) {
		t.Errorf("Sent lacks \\Sent: %+v", l)
	}
	if l := names["Receipts"]; l == nil || !slices.Contains(l.Attrs, imap.MailboxAttrArchive) {
		t.Errorf("Receipts lacks \\Archive: %+v", l)
	}
	if l := names["Projects"]; l == nil || !slices.Contains(l.Attrs, imap.MailboxAttrHasChildren) {
		t.Errorf("Projects lacks \\HasChildren: %+v", l)
	}
	if l := names["INBOX"]; l == nil || l.Status == nil || l.Status.NumMessages == nil {
		t.Errorf("LIST-STATUS missing for INBOX: %+v", l)
	}
	// %-pattern: one level.
	list, err = c.List("Projects/", "%", nil).Collect()
	if err != nil || len(list) != 1 || list[0].Mailbox != "Projects/2024" {
		t.Errorf("LIST Projects/ %%: %v %+v", err, list)
	}
	if err := c.Delete("Projects").Wait(); err == nil {
		t.Error("DELETE of a mailbox with children succeeded")
	}
	if err := c.Rename("Projects", "Work/Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status("Work/Projects/2024/Q1", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
		t.Errorf("renamed child: %v", err)
	}
	if err := c.Delete("Receipts").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe("Entwürfe").Wait(); err != nil {
		t.Fatal(err)
	}
	list, err = c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil || !slices.ContainsFunc(list, func(l *imap.ListData) bool { return l.Mailbox == "Entwürfe" }) {
		t.Errorf("LIST (SUBSCRIBED): %v %+v", err, list)
	}
	// RENAME INBOX moves its messages (RFC 9051 §6.3.6).
	ts.deliver(t, alice(), testMessage("old inbox"))
	if err := c.Rename("INBOX", "Old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Old", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("STATUS Old: %v %+v", err, st)
	}
	st, err = c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, Size: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("STATUS INBOX: %v %+v", err, st)
	}
}

func TestImapclientMessages(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := dialClient(t, ts, alice(), nil)
	for i := range 5 {
		ts.deliver(t, alice(), testMessage(fmt.Sprintf("message %d", i+1)))
	}
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, time.FixedZone("", -3*3600))
	mp := "From: a@example.org\r\nTo: b@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part with needle\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--XX--\r\n"
	app := c.Append("INBOX", int64(len(mp)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Work"}, Time: date})
	app.Write([]byte(mp))
	app.Close()
	ad, err := app.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 6 || ad.UIDValidity == 0 {
		t.Errorf("APPENDUID: %+v", ad)
	}
	sd, err := c.Select("INBOX", nil).Wait()
	if err != nil || sd.NumMessages != 6 {
		t.Fatalf("SELECT: %v %+v", err, sd)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(6), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}, {Part: []int{1}, Peek: true}},
		BinarySection: []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %d", err, len(msgs))
	}
	m := msgs[0]
	if m.Envelope.Subject != "Grüße" || m.Envelope.From[0].Host != "example.org" {
		t.Errorf("envelope: %+v", m.Envelope)
	}
	if !m.InternalDate.Equal(date) {
		t.Errorf("internal date %v, want %v", m.InternalDate, date)
	}
	if !slices.Contains(m.Flags, imap.FlagFlagged) || !slices.Contains(m.Flags, "$Work") || slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("flags %v", m.Flags)
	}
	bs, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(bs.Children) != 2 || bs.Subtype != "mixed" {
		t.Fatalf("bodystructure %#v", m.BodyStructure)
	}
	if m.RFC822Size != int64(len(mp)) {
		t.Errorf("size %d, want %d", m.RFC822Size, len(mp))
	}
	var header, part1 []byte
	for _, s := range m.BodySection {
		if s.Section.Specifier == imap.PartSpecifierHeader {
			header = s.Bytes
		} else {
			part1 = s.Bytes
		}
	}
	if !bytes.HasPrefix(header, []byte("From: a@example.org")) || !bytes.HasSuffix(header, []byte("\r\n\r\n")) {
		t.Errorf("header %q", header)
	}
	if string(part1) != "plain part with needle" {
		t.Errorf("part 1 %q", part1)
	}
	if len(m.BinarySection) != 1 || !bytes.Equal(m.BinarySection[0].Bytes, []byte{0, 1, 2, 3}) {
		t.Errorf("binary %+v", m.BinarySection)
	}

	// SEARCH: body text, header, flags, uid.
	sr, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"NEEDLE"}}, nil).Wait()
	if err != nil || !slices.Equal(sr.AllUIDs(), []imap.UID{6}) {
		t.Errorf("SEARCH BODY: %v %v", err, sr)
	}
	sr, err = c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "message 3"}}}, nil).Wait()
	if err != nil || !slices.Equal(sr.AllSeqNums(), []uint32{3}) {
		t.Errorf("SEARCH SUBJECT: %v %v", err, sr)
	}
	sr, err = c.Search(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}, Or: [][2]imap.SearchCriteria{{{Text: []string{"grüße"}}, {Text: []string{"nothing"}}}}}, nil).Wait()
	if err != nil || !slices.Equal(sr.AllSeqNums(), []uint32{6}) {
		t.Errorf("SEARCH OR TEXT: %v %v", err, sr)
	}
	sr, err = c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagFlagged}, Since: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, &imap.SearchOptions{ReturnCount: true, ReturnMin: true}).Wait()
	if err != nil || sr.Count != 5 || sr.Min != 1 {
		t.Errorf("ESEARCH: %v %+v", err, sr)
	}

	// STORE, COPY, MOVE, EXPUNGE.
	if _, err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	cd, err := c.Copy(imap.SeqSetNum(3), "Archive").Wait()
	if err != nil || cd.DestUIDs.String() != "1" {
		t.Errorf("COPY: %v %+v", err, cd)
	}
	md, err := c.Move(imap.SeqSetNum(4), "Trash").Wait()
	if err != nil || md.DestUIDs.String() != "1" {
		t.Errorf("MOVE: %v %+v", err, md)
	}
	exp, err := c.Expunge().Collect()
	if err != nil || !slices.Equal(exp, []uint32{2, 1}) && !slices.Equal(exp, []uint32{1, 1}) {
		t.Errorf("EXPUNGE: %v %v", err, exp)
	}
	st, err := c.Status("Trash", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("Trash: %v %+v", err, st)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true, NumDeleted: true}).Wait()
	if err != nil || *st.NumMessages != 3 || *st.NumUnseen != 3 || *st.NumDeleted != 0 {
		t.Errorf("INBOX: %v %+v", err, st)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestTwoSessions: a message sent by alice (delivered to bob, with the
// Sent copy appended over IMAP) is read, flagged and moved to Archive in
// one of bob's sessions; bob's other session, idling, is told of each
// change within a second, and finds the message in the right state.
func TestTwoSessions(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	msg := testMessage("hello bob")

	sender := dialClient(t, ts, alice(), nil)
	events := make(chan event, 100)
	watcher := dialClient(t, ts, bob(), events)
	actor := dialClient(t, ts, bob(), nil)

	if _, err := watcher.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}

	// Submission: delivered to bob, Sent copy appended by alice's client.
	ts.deliver(t, bob(), msg)
	app := sender.Append("Sent", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	io.WriteString(app, msg)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, events, "exists"); e.n != 1 {
		t.Errorf("EXISTS %d", e.n)
	}

	if _, err := actor.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, events, "flags"); !slices.Contains(e.flags, imap.FlagSeen) {
		t.Errorf("after reading: flags %v", e.flags)
	}
	if _, err := actor.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, events, "flags"); !slices.Contains(e.flags, imap.FlagFlagged) {
		t.Errorf("after flagging: flags %v", e.flags)
	}
	if _, err := actor.Move(imap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, events, "expunge"); e.n != 1 {
		t.Errorf("EXPUNGE %d", e.n)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.Select("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := watcher.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil || len(got) != 1 {
		t.Fatalf("FETCH Archive: %v %d", err, len(got))
	}
	if !slices.Contains(got[0].Flags, imap.FlagSeen) || !slices.Contains(got[0].Flags, imap.FlagFlagged) || got[0].Envelope.Subject != "hello bob" {
		t.Errorf("archived message: %v %+v", got[0].Flags, got[0].Envelope)
	}
	// Alice's Sent copy.
	if _, err := sender.Select("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	got, err = sender.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(got) != 1 || !slices.Contains(got[0].Flags, imap.FlagSeen) || !strings.Contains(string(got[0].BodySection[0].Bytes), "Hello hello bob") {
		t.Errorf("Sent copy: %v %+v", err, got)
	}
}
