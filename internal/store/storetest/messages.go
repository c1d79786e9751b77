package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"mailhouse/internal/store"
)

func testDeliver(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	arch := e.mailbox(a.ID, "Archive")
	b := body("hello", 3000)
	zone := time.FixedZone("", -7*3600)
	date := time.Date(2024, 2, 29, 13, 14, 15, 0, zone)
	before := time.Now().Add(-time.Second)
	out, err := e.s.Deliver(e.ctx, store.Delivery{
		Body:   b,
		Parsed: []byte(`{"envelope":1}`),
		Targets: []store.Target{
			{Mailbox: in.ID, Prefix: []byte("Delivered-To: bob@example.org\r\n"), Flags: []string{"$Work", `\seen`, `\SEEN`, "$Work", `\Flagged`}, InternalDate: date},
			{Mailbox: arch.ID},
		},
	})
	e.must(err)
	if len(out) != 2 || out[0].Mailbox != in.ID || out[1].Mailbox != arch.ID || out[0].UID != 1 || out[1].UID != 1 {
		e.Fatalf("Deliver = %+v", out)
	}
	if out[0].ModSeq <= in.HighestModSeq || out[1].ModSeq <= arch.HighestModSeq {
		e.Errorf("delivered modseqs %+v not above the mailboxes' (%d, %d)", out, in.HighestModSeq, arch.HighestModSeq)
	}

	m, err := e.s.GetMessage(e.ctx, in.ID, 1)
	e.must(err)
	prefix := "Delivered-To: bob@example.org\r\n"
	if !slices.Equal(m.Flags, []string{"$Work", `\Flagged`, `\Seen`}) {
		e.Errorf("flags stored as %q", m.Flags)
	}
	if m.Size != int64(len(prefix)+len(b)) || m.PrefixLen != len(prefix) || m.ModSeq != out[0].ModSeq || m.UID != 1 || m.Mailbox != in.ID {
		e.Errorf("GetMessage = %+v", m)
	}
	if !m.InternalDate.Equal(date) {
		e.Errorf("internal date %v, want %v", m.InternalDate, date)
	}
	if _, off := m.InternalDate.Zone(); off != -7*3600 {
		e.Errorf("internal date zone offset %d, want %d", off, -7*3600)
	}
	raw, err := e.s.ReadMessage(e.ctx, in.ID, 1)
	e.must(err)
	if !bytes.Equal(raw, append([]byte(prefix), b...)) {
		e.Errorf("ReadMessage returned %d bytes, not prefix+body", len(raw))
	}
	p, err := e.s.ReadParsed(e.ctx, in.ID, 1)
	e.must(err)
	if string(p) != `{"envelope":1}` {
		e.Errorf("ReadParsed = %q", p)
	}

	m2, err := e.s.GetMessage(e.ctx, arch.ID, 1)
	e.must(err)
	if len(m2.Flags) != 0 || m2.PrefixLen != 0 || m2.Size != int64(len(b)) || m2.InternalDate.Before(before) || m2.InternalDate.After(time.Now().Add(time.Second)) {
		e.Errorf("second copy = %+v", m2)
	}
	raw, err = e.s.ReadMessage(e.ctx, arch.ID, 1)
	e.must(err)
	if !bytes.Equal(raw, b) {
		e.Error("second copy's bytes differ from the body")
	}

	// UIDs ascend; modseqs too.
	next := e.deliver(body("second", 100), in.ID)[0]
	if next.UID != 2 || next.ModSeq <= out[0].ModSeq {
		e.Errorf("second delivery = %+v after %+v", next, out[0])
	}
	if st := e.status(in.ID); st.UIDNext != 3 || st.HighestModSeq != next.ModSeq {
		e.Errorf("status after two deliveries: %+v", st)
	}

	_, err = e.s.GetMessage(e.ctx, in.ID, 99)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.ReadMessage(e.ctx, in.ID, 99)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.ReadParsed(e.ctx, in.ID, 99)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.ListMessages(e.ctx, 1<<40)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.Deliver(e.ctx, store.Delivery{Body: b})
	if err == nil {
		e.Error("Deliver without targets succeeded")
	}
	_, err = e.s.Deliver(e.ctx, store.Delivery{Body: b, Targets: []store.Target{{Mailbox: in.ID, Flags: []string{`\Recent`}}}})
	e.wantErr(err, store.ErrNotAllowed)
	_, err = e.s.Deliver(e.ctx, store.Delivery{Body: b, Targets: []store.Target{{Mailbox: in.ID, Flags: []string{"two words"}}}})
	e.wantErr(err, store.ErrNotAllowed)
}

// testDeliverAtomic: a delivery with one bad target stores nothing.
func testDeliverAtomic(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	before := e.status(in.ID)
	_, err := e.s.Deliver(e.ctx, store.Delivery{Body: body("x", 100), Targets: []store.Target{{Mailbox: in.ID}, {Mailbox: 1 << 40}}})
	e.wantErr(err, store.ErrNotFound)
	if st := e.status(in.ID); st != before {
		e.Errorf("a failed delivery changed INBOX: %+v -> %+v", before, st)
	}
	if in, ok := e.s.(Inspector); ok {
		if n, err := in.CountBodies(e.ctx); err != nil || n != 0 {
			e.Errorf("a failed delivery left %d bodies (%v)", n, err)
		}
	}
	// The next delivery takes the UID the failed one did not.
	if d := e.deliver(body("y", 100), in.ID)[0]; d.UID != before.UIDNext {
		e.Errorf("UID %d after a failed delivery, want %d", d.UID, before.UIDNext)
	}
}

// testStoredOnce: a body delivered to 50 recipients is stored once, and
// goes away with the last copy.
func testStoredOnce(e *env) {
	var targets []store.Target
	var inboxes []store.MailboxID
	for i := range 50 {
		a := e.account(fmt.Sprintf("user%02d@example.org", i))
		in := e.mailbox(a.ID, "INBOX")
		inboxes = append(inboxes, in.ID)
		targets = append(targets, store.Target{Mailbox: in.ID, Prefix: fmt.Appendf(nil, "Delivered-To: user%02d@example.org\r\n", i)})
	}
	if n := e.bodies(); n != 0 {
		e.Fatalf("%d bodies before delivery", n)
	}
	b := body("to-fifty", 64*1024)
	out, err := e.s.Deliver(e.ctx, store.Delivery{Body: b, Targets: targets})
	e.must(err)
	if n := e.bodies(); n != 1 {
		e.Fatalf("a delivery to 50 recipients stored %d bodies, want 1", n)
	}
	for i, d := range out {
		raw, err := e.s.ReadMessage(e.ctx, d.Mailbox, d.UID)
		e.must(err)
		if !bytes.Equal(raw, append(slices.Clone(targets[i].Prefix), b...)) {
			e.Errorf("copy %d differs", i)
		}
	}
	// A copy shares it too.
	acc0, err := e.s.GetMailboxByID(e.ctx, inboxes[0])
	e.must(err)
	arch := e.mailbox(acc0.Account, "Archive")
	_, _, err = e.s.Copy(e.ctx, inboxes[0], []store.UID{out[0].UID}, arch.ID)
	e.must(err)
	if n := e.bodies(); n != 1 {
		e.Errorf("after Copy: %d bodies, want 1", n)
	}
	// It lives while one copy does: expunge, delete a mailbox, delete an account.
	for i := range 48 {
		_, err := e.s.Expunge(e.ctx, out[i].Mailbox, []store.UID{out[i].UID})
		e.must(err)
	}
	e.must(e.s.DeleteMailbox(e.ctx, acc0.Account, "Archive"))
	if n := e.bodies(); n != 1 {
		e.Fatalf("with 2 copies left: %d bodies, want 1", n)
	}
	_, err = e.s.Expunge(e.ctx, out[48].Mailbox, []store.UID{out[48].UID})
	e.must(err)
	if n := e.bodies(); n != 1 {
		e.Fatalf("with 1 copy left: %d bodies, want 1", n)
	}
	e.must(e.s.DeleteAccount(e.ctx, "user49@example.org"))
	if n := e.bodies(); n != 0 {
		e.Errorf("after the last copy went with its account: %d bodies, want 0", n)
	}
}

func testFlags(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	uids := e.fill(in.ID, 4)
	upd := func(op store.FlagOp, flags []string, uids ...store.UID) store.FlagResult {
		e.Helper()
		r, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids, Op: op, Flags: flags})
		e.must(err)
		return r
	}
	flagsOf := func(uid store.UID) []string {
		e.Helper()
		m, err := e.s.GetMessage(e.ctx, in.ID, uid)
		e.must(err)
		return m.Flags
	}

	h0 := e.status(in.ID).HighestModSeq
	r := upd(store.FlagsAdd, []string{`\seen`, "$A"}, uids[0], uids[1], 999)
	if len(r.Updated) != 2 || len(r.Failed) != 0 {
		e.Fatalf("add: %+v", r)
	}
	h1 := e.status(in.ID).HighestModSeq
	for _, m := range r.Updated {
		if m.ModSeq <= h0 || m.ModSeq > h1 || !slices.Equal(m.Flags, []string{"$A", `\Seen`}) {
			e.Errorf("updated %+v (highest before %d, after %d)", m, h0, h1)
		}
	}
	if st := e.status(in.ID); st.Unseen != 2 {
		e.Errorf("unseen = %d, want 2", st.Unseen)
	}
	// No change: no modseq, not reported.
	r = upd(store.FlagsAdd, []string{`\Seen`}, uids[0])
	if len(r.Updated) != 0 || e.status(in.ID).HighestModSeq != h1 {
		e.Errorf("a no-op update changed something: %+v", r)
	}
	r = upd(store.FlagsRemove, []string{"$A", "$Missing"}, uids[0])
	if len(r.Updated) != 1 || !slices.Equal(flagsOf(uids[0]), []string{`\Seen`}) {
		e.Errorf("remove: %+v, flags %v", r, flagsOf(uids[0]))
	}
	r = upd(store.FlagsReplace, []string{`\Deleted`, "$Z", `\Answered`}, uids[0], uids[2])
	if len(r.Updated) != 2 || !slices.Equal(flagsOf(uids[2]), []string{"$Z", `\Answered`, `\Deleted`}) {
		e.Errorf("replace: %+v, flags %v", r, flagsOf(uids[2]))
	}
	if st := e.status(in.ID); st.Unseen != 3 {
		e.Errorf("unseen = %d after replace, want 3", st.Unseen)
	}
	r = upd(store.FlagsReplace, nil, uids[0])
	if len(flagsOf(uids[0])) != 0 || len(r.Updated) != 1 {
		e.Errorf("replace with none: %v", flagsOf(uids[0]))
	}
	_, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids, Op: store.FlagsAdd, Flags: []string{`\Bogus`}})
	e.wantErr(err, store.ErrNotAllowed)
	_, err = e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids, Op: 0, Flags: []string{"$A"}})
	if err == nil {
		e.Error("UpdateFlags with Op 0 succeeded")
	}
	_, err = e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: 1 << 40, UIDs: uids, Op: store.FlagsAdd, Flags: []string{"$A"}})
	e.wantErr(err, store.ErrNotFound)

	// Many UIDs at once (a STORE 1:*), with gaps and duplicates.
	many := e.fill(in.ID, 100)
	_, err = e.s.Expunge(e.ctx, in.ID, many[10:20])
	e.must(err)
	all := append(slices.Clone(many), many...)
	all = append(all, 5000, 6000)
	r = upd(store.FlagsAdd, []string{"$Bulk"}, all...)
	if len(r.Updated) != 90 {
		e.Errorf("bulk update changed %d, want 90", len(r.Updated))
	}
	if !slices.IsSortedFunc(r.Updated, func(a, b store.MessageMeta) int { return int(a.UID) - int(b.UID) }) {
		e.Error("FlagResult.Updated not in UID order")
	}
}

func testUnchangedSince(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	uids := e.fill(in.ID, 3)
	m0, err := e.s.GetMessage(e.ctx, in.ID, uids[0])
	e.must(err)
	// Change message 2 after the client's view (m0.ModSeq of the last delivery).
	last, err := e.s.GetMessage(e.ctx, in.ID, uids[2])
	e.must(err)
	view := last.ModSeq
	_, err = e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{uids[1]}, Op: store.FlagsAdd, Flags: []string{"$Other"}})
	e.must(err)
	r, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids, Op: store.FlagsAdd, Flags: []string{`\Flagged`}, UnchangedSince: view})
	e.must(err)
	if !slices.Equal(r.Failed, []store.UID{uids[1]}) || len(r.Updated) != 2 {
		e.Errorf("UNCHANGEDSINCE %d: %+v (message 1 modseq %d)", view, r, m0.ModSeq)
	}
	m1, err := e.s.GetMessage(e.ctx, in.ID, uids[1])
	e.must(err)
	if slices.Contains(m1.Flags, `\Flagged`) {
		e.Error("a message failing UNCHANGEDSINCE was changed")
	}
}

func testExpunge(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	uids := e.fill(in.ID, 5)
	h := e.status(in.ID).HighestModSeq
	gone, err := e.s.Expunge(e.ctx, in.ID, []store.UID{uids[3], uids[1], 77, uids[1]})
	e.must(err)
	if !slices.Equal(gone, []store.UID{uids[1], uids[3]}) {
		e.Errorf("Expunge = %v", gone)
	}
	if got := e.uids(in.ID); !slices.Equal(got, []store.UID{uids[0], uids[2], uids[4]}) {
		e.Errorf("left: %v", got)
	}
	st := e.status(in.ID)
	if st.Messages != 3 || st.HighestModSeq <= h || st.UIDNext != uids[4]+1 {
		e.Errorf("status after expunge: %+v", st)
	}
	gone, err = e.s.Expunge(e.ctx, in.ID, []store.UID{uids[1]})
	e.must(err)
	if len(gone) != 0 || e.status(in.ID).HighestModSeq != st.HighestModSeq {
		e.Errorf("expunging nothing: %v, modseq moved", gone)
	}
	_, err = e.s.Expunge(e.ctx, 1<<40, uids)
	e.wantErr(err, store.ErrNotFound)
	// UIDs are never reused.
	if d := e.deliver(body("after", 10), in.ID)[0]; d.UID != uids[4]+1 {
		e.Errorf("UID after expunge = %d, want %d", d.UID, uids[4]+1)
	}
}

// testChanges: Changes(since) returns exactly what changed after since.
func testChanges(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	old := e.fill(in.ID, 5)
	h0 := e.status(in.ID).HighestModSeq

	c, err := e.s.Changes(e.ctx, in.ID, h0)
	e.must(err)
	if len(c.Messages) != 0 || len(c.Expunged) != 0 || c.HighestModSeq != h0 || c.ExpungedIncomplete {
		e.Errorf("Changes(highest) = %+v, want nothing", c)
	}

	fresh := e.fill(in.ID, 3)
	_, err = e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{old[1], fresh[0]}, Op: store.FlagsAdd, Flags: []string{`\Seen`}})
	e.must(err)
	_, err = e.s.Expunge(e.ctx, in.ID, []store.UID{old[3], fresh[2]})
	e.must(err)
	h1 := e.status(in.ID).HighestModSeq

	c, err = e.s.Changes(e.ctx, in.ID, h0)
	e.must(err)
	var got []store.UID
	for _, m := range c.Messages {
		got = append(got, m.UID)
		if m.ModSeq <= h0 || m.ModSeq > h1 {
			e.Errorf("changed message %+v outside (%d, %d]", m, h0, h1)
		}
	}
	if want := []store.UID{old[1], fresh[0], fresh[1]}; !slices.Equal(got, want) {
		e.Errorf("Changes(%d).Messages = %v, want %v", h0, got, want)
	}
	if want := []store.UID{old[3], fresh[2]}; !slices.Equal(c.Expunged, want) {
		e.Errorf("Changes(%d).Expunged = %v, want %v", h0, c.Expunged, want)
	}
	if c.HighestModSeq != h1 {
		e.Errorf("Changes.HighestModSeq = %d, want %d", c.HighestModSeq, h1)
	}

	// Since a point in the middle: only what came after it.
	m, err := e.s.GetMessage(e.ctx, in.ID, fresh[1])
	e.must(err)
	c, err = e.s.Changes(e.ctx, in.ID, m.ModSeq)
	e.must(err)
	for _, mm := range c.Messages {
		if mm.ModSeq <= m.ModSeq {
			e.Errorf("Changes(%d) returned %+v", m.ModSeq, mm)
		}
	}
	// From zero: every message, and every remembered expunge.
	c, err = e.s.Changes(e.ctx, in.ID, 0)
	e.must(err)
	if len(c.Messages) != 6 || len(c.Expunged) != 2 {
		e.Errorf("Changes(0): %d messages, expunged %v", len(c.Messages), c.Expunged)
	}
	_, err = e.s.Changes(e.ctx, 1<<40, 0)
	e.wantErr(err, store.ErrNotFound)
}

func testCopyMove(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	arch := e.mailbox(a.ID, "Archive")
	e.fill(arch.ID, 2) // so that destination UIDs differ from source UIDs
	uids := e.fill(in.ID, 4)
	_, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: uids[:1], Op: store.FlagsAdd, Flags: []string{"$Kept"}})
	e.must(err)
	bodies := e.bodies()
	archBefore := e.status(arch.ID)

	src, dst, err := e.s.Copy(e.ctx, in.ID, []store.UID{uids[2], uids[0], 999}, arch.ID)
	e.must(err)
	if !slices.Equal(src, []store.UID{uids[0], uids[2]}) || !slices.Equal(dst, []store.UID{3, 4}) {
		e.Errorf("Copy = %v -> %v", src, dst)
	}
	if n := e.bodies(); n != bodies {
		e.Errorf("Copy stored bodies again: %d -> %d", bodies, n)
	}
	for i := range src {
		a, err := e.s.ReadMessage(e.ctx, in.ID, src[i])
		e.must(err)
		b, err := e.s.ReadMessage(e.ctx, arch.ID, dst[i])
		e.must(err)
		if !bytes.Equal(a, b) {
			e.Errorf("copy %d -> %d differs", src[i], dst[i])
		}
	}
	cm, err := e.s.GetMessage(e.ctx, arch.ID, dst[0])
	e.must(err)
	if !slices.Equal(cm.Flags, []string{"$Kept"}) || cm.ModSeq <= archBefore.HighestModSeq {
		e.Errorf("copied message %+v", cm)
	}
	if len(e.list(in.ID)) != 4 {
		e.Error("Copy removed source messages")
	}

	inBefore := e.status(in.ID)
	src, dst, err = e.s.Move(e.ctx, in.ID, []store.UID{uids[1], uids[3]}, arch.ID)
	e.must(err)
	if !slices.Equal(src, []store.UID{uids[1], uids[3]}) || !slices.Equal(dst, []store.UID{5, 6}) {
		e.Errorf("Move = %v -> %v", src, dst)
	}
	if got := e.uids(in.ID); !slices.Equal(got, []store.UID{uids[0], uids[2]}) {
		e.Errorf("source after Move: %v", got)
	}
	c, err := e.s.Changes(e.ctx, in.ID, inBefore.HighestModSeq)
	e.must(err)
	if !slices.Equal(c.Expunged, []store.UID{uids[1], uids[3]}) {
		e.Errorf("Move's expunges: %v", c.Expunged)
	}
	if st := e.status(arch.ID); st.Messages != 6 || st.UIDNext != 7 {
		e.Errorf("Archive after copy and move: %+v", st)
	}

	// Move within one mailbox gives new UIDs.
	src, dst, err = e.s.Move(e.ctx, arch.ID, []store.UID{1}, arch.ID)
	e.must(err)
	if len(src) != 1 || dst[0] != 7 || slices.Contains(e.uids(arch.ID), 1) {
		e.Errorf("Move to itself: %v -> %v, left %v", src, dst, e.uids(arch.ID))
	}

	other := e.account("carol@example.org")
	_, _, err = e.s.Copy(e.ctx, in.ID, uids[:1], e.mailbox(other.ID, "INBOX").ID)
	e.wantErr(err, store.ErrNotAllowed)
	_, _, err = e.s.Move(e.ctx, in.ID, uids[:1], 1<<40)
	e.wantErr(err, store.ErrNotFound)
	src, dst, err = e.s.Copy(e.ctx, in.ID, []store.UID{999}, arch.ID)
	if err != nil || len(src) != 0 || len(dst) != 0 {
		e.Errorf("Copy of nothing = %v, %v, %v", src, dst, err)
	}
}

func testStatusUsage(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	sent := e.mailbox(a.ID, "Sent")
	var size int64
	for i, m := range []store.MailboxID{in.ID, in.ID, in.ID, sent.ID} {
		b := body(fmt.Sprint("s", i), 1000*(i+1))
		flags := []string(nil)
		if i == 0 {
			flags = []string{`\Seen`}
		}
		_, err := e.s.Deliver(e.ctx, store.Delivery{Body: b, Targets: []store.Target{{Mailbox: m, Prefix: []byte("X-P: 1\r\n"), Flags: flags}}})
		e.must(err)
		size += int64(len(b) + len("X-P: 1\r\n"))
	}
	st := e.status(in.ID)
	if st.Messages != 3 || st.Unseen != 2 || st.UIDNext != 4 || st.UIDValidity != in.UIDValidity || st.HighestModSeq < 4 {
		e.Errorf("INBOX status %+v", st)
	}
	u, err := e.s.AccountUsage(e.ctx, a.ID)
	e.must(err)
	if u.Messages != 4 || u.Bytes != size {
		e.Errorf("usage %+v, want 4 messages, %d bytes", u, size)
	}
	var listed int64
	for _, m := range e.list(in.ID) {
		listed += m.Size
	}
	if st.Size != listed {
		e.Errorf("status size %d, sum of message sizes %d", st.Size, listed)
	}
	_, err = e.s.MailboxStatus(e.ctx, 1<<40)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.AccountUsage(e.ctx, a.ID+1000)
	e.wantErr(err, store.ErrNotFound)
}
