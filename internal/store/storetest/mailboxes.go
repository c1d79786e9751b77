package storetest

import (
	"bytes"
	"fmt"
	"slices"

	"mailhouse/internal/store"
)

func testMailboxes(e *env) {
	a := e.account("bob@example.org")
	m, err := e.s.CreateMailbox(e.ctx, a.ID, "Projects", "")
	e.must(err)
	if m.ID == 0 || m.Account != a.ID || m.Name != "Projects" || m.UIDNext != 1 || m.UIDValidity == 0 || m.HighestModSeq == 0 {
		e.Errorf("CreateMailbox = %+v", m)
	}
	_, err = e.s.CreateMailbox(e.ctx, a.ID, "Projects", "")
	e.wantErr(err, store.ErrExists, "Projects")
	// INBOX is case-insensitive, other names are not.
	_, err = e.s.CreateMailbox(e.ctx, a.ID, "inbox", "")
	e.wantErr(err, store.ErrExists)
	e.create(a.ID, "projects")
	if got := e.mailbox(a.ID, "iNbOx"); got.Name != "INBOX" {
		e.Errorf(`GetMailbox("iNbOx") = %+v`, got)
	}
	// A child of INBOX is spelt one way, whatever case INBOX is given in.
	c := e.create(a.ID, "inbox/Sub")
	if c.Name != "INBOX/Sub" || e.mailbox(a.ID, "INBOX/Sub").ID != c.ID {
		e.Errorf("inbox/Sub created as %q", c.Name)
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", "a\x00b", "tab\there"} {
		_, err := e.s.CreateMailbox(e.ctx, a.ID, bad, "")
		e.wantErr(err, store.ErrNotAllowed)
	}
	_, err = e.s.CreateMailbox(e.ctx, a.ID, "Weird", `\Nonsense`)
	e.wantErr(err, store.ErrNotAllowed)
	f, err := e.s.CreateMailbox(e.ctx, a.ID, "Important", store.SpecialFlagged)
	e.must(err)
	if f.SpecialUse != store.SpecialFlagged {
		e.Errorf("special use not kept: %+v", f)
	}
	u := e.create(a.ID, "Ünïcode/日本")
	if got := e.mailbox(a.ID, "Ünïcode/日本"); got.ID != u.ID {
		e.Errorf("unicode name lookup = %+v", got)
	}

	got, err := e.s.GetMailboxByID(e.ctx, m.ID)
	e.must(err)
	if got != m {
		e.Errorf("GetMailboxByID = %+v, want %+v", got, m)
	}
	_, err = e.s.GetMailbox(e.ctx, a.ID, "Nope")
	e.wantErr(err, store.ErrNotFound, "Nope")
	_, err = e.s.GetMailbox(e.ctx, a.ID, "a//b") // cannot exist
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.GetMailboxByID(e.ctx, 1<<40)
	e.wantErr(err, store.ErrNotFound)

	ms, err := e.s.ListMailboxes(e.ctx, a.ID)
	e.must(err)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "Projects") || !slices.Contains(names, "projects") || len(names) != len(store.DefaultMailboxes)+5 {
		e.Errorf("ListMailboxes = %q", names)
	}

	// Another account's mailboxes are its own.
	other := e.account("carol@example.org")
	e.create(other.ID, "Projects")
	_, err = e.s.GetMailbox(e.ctx, other.ID, "projects")
	e.wantErr(err, store.ErrNotFound)

	e.must(e.s.SetSubscribed(e.ctx, a.ID, "Projects", true))
	if !e.mailbox(a.ID, "Projects").Subscribed {
		e.Error("SetSubscribed(true) not kept")
	}
	e.must(e.s.SetSubscribed(e.ctx, a.ID, "Projects", false))
	if e.mailbox(a.ID, "Projects").Subscribed {
		e.Error("SetSubscribed(false) not kept")
	}
	e.wantErr(e.s.SetSubscribed(e.ctx, a.ID, "Nope", true), store.ErrNotFound, "Nope")
}

func testUIDValidity(e *env) {
	a := e.account("bob@example.org")
	seen := map[uint32]string{}
	note := func(m store.Mailbox) {
		e.Helper()
		if prev, ok := seen[m.UIDValidity]; ok {
			e.Errorf("UIDVALIDITY %d of %s was already given to %s", m.UIDValidity, m.Name, prev)
		}
		seen[m.UIDValidity] = m.Name
	}
	ms, err := e.s.ListMailboxes(e.ctx, a.ID)
	e.must(err)
	for _, m := range ms {
		note(m)
	}
	// Delete and re-create the same name, quickly: a new value each time.
	for range 5 {
		m := e.create(a.ID, "Again")
		note(m)
		e.must(e.s.DeleteMailbox(e.ctx, a.ID, "Again"))
	}
	m := e.create(a.ID, "Again")
	note(m)
	// A rename keeps the value; the old name gets a new one when re-created.
	e.must(e.s.RenameMailbox(e.ctx, a.ID, "Again", "Moved"))
	if got := e.mailbox(a.ID, "Moved"); got.UIDValidity != m.UIDValidity {
		e.Errorf("rename changed UIDVALIDITY %d -> %d", m.UIDValidity, got.UIDValidity)
	}
	note(e.create(a.ID, "Again"))
}

// tree creates the named mailboxes and delivers one message to each; it
// returns them by name.
func (e *env) tree(acc store.AccountID, names ...string) map[string]store.Mailbox {
	e.Helper()
	out := map[string]store.Mailbox{}
	for _, n := range names {
		m := e.create(acc, n)
		e.deliver(body("in "+n, 200), m.ID)
		out[n] = e.mailbox(acc, n)
	}
	return out
}

func testRename(e *env) {
	a := e.account("bob@example.org")
	before := e.tree(a.ID, "a", "a/b", "a/b/c", "ab", "a.b", "b")

	e.must(e.s.RenameMailbox(e.ctx, a.ID, "a", "x/y"))
	for old, nw := range map[string]string{"a": "x/y", "a/b": "x/y/b", "a/b/c": "x/y/b/c"} {
		_, err := e.s.GetMailbox(e.ctx, a.ID, old)
		e.wantErr(err, store.ErrNotFound)
		m := e.mailbox(a.ID, nw)
		if b := before[old]; m.ID != b.ID || m.UIDValidity != b.UIDValidity || m.UIDNext != b.UIDNext {
			e.Errorf("%s renamed to %s: %+v, was %+v", old, nw, m, b)
		}
		if n := len(e.list(m.ID)); n != 1 {
			e.Errorf("%s has %d messages after rename, want 1", nw, n)
		}
	}
	for _, n := range []string{"ab", "a.b", "b"} {
		if m := e.mailbox(a.ID, n); m.ID != before[n].ID {
			e.Errorf("%s was touched by renaming a", n)
		}
	}

	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "nope", "z"), store.ErrNotFound, "nope")
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "ab", "b"), store.ErrExists, "b")
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "ab", "Inbox"), store.ErrExists)
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "b", "b/c"), store.ErrNotAllowed)
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "b", "b"), store.ErrExists)
	// A child's new name taken: nothing moves.
	e.create(a.ID, "q")
	e.create(a.ID, "q/b")
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "x/y", "q"), store.ErrExists)
	e.mailbox(a.ID, "x/y")
	e.mailbox(a.ID, "x/y/b")
	// A child may take a name that the rename itself frees:
	// m/m -> m moves m/m/m to m/m.
	mm := e.create(a.ID, "m/m")
	mmm := e.create(a.ID, "m/m/m")
	e.must(e.s.RenameMailbox(e.ctx, a.ID, "m/m", "m"))
	if got := e.mailbox(a.ID, "m"); got.ID != mm.ID {
		e.Errorf("m is %+v, want the old m/m", got)
	}
	if got := e.mailbox(a.ID, "m/m"); got.ID != mmm.ID {
		e.Errorf("m/m is %+v, want the old m/m/m", got)
	}
}

func testRenameInbox(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	child := e.create(a.ID, "INBOX/keep")
	var bodies [][]byte
	for i := range 3 {
		b := body(fmt.Sprintf("inbox-%d", i), 400)
		bodies = append(bodies, b)
		_, err := e.s.Deliver(e.ctx, store.Delivery{Body: b, Targets: []store.Target{{
			Mailbox: in.ID, Prefix: []byte("Delivered-To: bob@example.org\r\n"), Flags: []string{"$Label"}}}})
		e.must(err)
	}
	before := e.status(in.ID)

	e.must(e.s.RenameMailbox(e.ctx, a.ID, "inbox", "Old Mail"))
	old := e.mailbox(a.ID, "Old Mail")
	if old.ID == in.ID || old.UIDValidity == in.UIDValidity {
		e.Errorf("renamed INBOX is not a new mailbox: %+v", old)
	}
	msgs := e.list(old.ID)
	if len(msgs) != 3 {
		e.Fatalf("Old Mail has %d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		raw, err := e.s.ReadMessage(e.ctx, old.ID, m.UID)
		e.must(err)
		want := append([]byte("Delivered-To: bob@example.org\r\n"), bodies[i]...)
		if !bytes.Equal(raw, want) || !slices.Equal(m.Flags, []string{"$Label"}) {
			e.Errorf("moved message %d differs: flags %v", m.UID, m.Flags)
		}
	}
	// INBOX stays, empty, with the same identity; its UIDs are not reused.
	now := e.mailbox(a.ID, "INBOX")
	if now.ID != in.ID || now.UIDValidity != in.UIDValidity || now.UIDNext != before.UIDNext {
		e.Errorf("INBOX after rename = %+v, was %+v", now, in)
	}
	if st := e.status(in.ID); st.Messages != 0 || st.HighestModSeq <= before.HighestModSeq {
		e.Errorf("INBOX status after rename = %+v", st)
	}
	ch, err := e.s.Changes(e.ctx, in.ID, before.HighestModSeq)
	e.must(err)
	if len(ch.Expunged) != 3 {
		e.Errorf("INBOX Changes after rename: expunged %v, want 3 UIDs", ch.Expunged)
	}
	// Its children are not renamed.
	if m := e.mailbox(a.ID, "INBOX/keep"); m.ID != child.ID {
		e.Errorf("INBOX/keep moved")
	}
	if _, err := e.s.GetMailbox(e.ctx, a.ID, "Old Mail/keep"); err == nil {
		e.Error("INBOX's child was renamed along")
	}
	e.wantErr(e.s.RenameMailbox(e.ctx, a.ID, "INBOX", "Old Mail"), store.ErrExists)
}

func testDeleteMailbox(e *env) {
	a := e.account("bob@example.org")
	e.wantErr(e.s.DeleteMailbox(e.ctx, a.ID, "inbox"), store.ErrNotAllowed, "INBOX")
	e.wantErr(e.s.DeleteMailbox(e.ctx, a.ID, "Nope"), store.ErrNotFound, "Nope")
	p := e.create(a.ID, "P")
	c := e.create(a.ID, "P/child")
	uids := e.fill(p.ID, 3)
	e.must(e.s.DeleteMailbox(e.ctx, a.ID, "P"))
	_, err := e.s.GetMailboxByID(e.ctx, p.ID)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.GetMessage(e.ctx, p.ID, uids[0])
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.MailboxStatus(e.ctx, p.ID)
	e.wantErr(err, store.ErrNotFound)
	// Children stay (RFC 9051 §6.3.5).
	if m := e.mailbox(a.ID, "P/child"); m.ID != c.ID {
		e.Errorf("P/child changed")
	}
	// A new P is a new mailbox.
	p2 := e.create(a.ID, "P")
	if p2.ID == p.ID || p2.UIDValidity == p.UIDValidity || len(e.list(p2.ID)) != 0 {
		e.Errorf("re-created P = %+v, old %+v", p2, p)
	}
	if u, err := e.s.AccountUsage(e.ctx, a.ID); err != nil || u.Messages != 0 {
		e.Errorf("usage after deleting the only full mailbox: %+v, %v", u, err)
	}
}
