package imapd

import (
	"slices"
	"strconv"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// storeFlags checks the flags of STORE and APPEND. \Recent cannot be set
// by clients (RFC 3501 §2.3.2) and is dropped.
func storeFlags(flags []string) ([]string, error) {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == `\Recent` {
			continue
		}
		if !imapwire.ValidFlag(f) {
			return nil, bad("invalid flag %q", f)
		}
		if len(f) > 0 && f[0] == '\\' {
			switch f {
			case store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft:
			default:
				return nil, bad("unknown system flag %s", f)
			}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) > 100 {
		return nil, bad("too many flags")
	}
	return out, nil
}

func (s *session) cmdStore(c *imapwire.Command) error {
	sel := s.sel
	if sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	if c.Store.HasUnchanged {
		return bad("UNCHANGEDSINCE needs CONDSTORE, which is not enabled")
	}
	flags, err := storeFlags(c.Store.Flags)
	if err != nil {
		return err
	}
	pos, err := sel.resolve(c.Seq, c.UID)
	if err != nil {
		return err
	}
	uids := sel.uidsAt(pos)
	if len(uids) == 0 {
		return nil
	}
	op := store.FlagsReplace
	switch c.Store.Op {
	case '+':
		op = store.FlagsAdd
	case '-':
		op = store.FlagsRemove
	}
	ctx, cancel := s.ctx()
	defer cancel()
	res, err := s.srv.o.Store.UpdateFlags(ctx, store.FlagUpdate{Mailbox: sel.mb.ID, UIDs: uids, Op: op, Flags: flags})
	if err != nil {
		return s.storeError(err, "STORE")
	}
	for _, m := range res.Updated {
		sel.own[m.UID] = m.ModSeq
	}
	if c.Store.Silent {
		return nil
	}
	// RFC 9051 §6.4.6: a FETCH with the flags of every message named,
	// changed or not.
	metas, err := s.metas(uids)
	if err != nil {
		return s.storeError(err, "STORE")
	}
	var b []byte
	for i, p := range pos {
		m, ok := metas(uids[i])
		if !ok || sel.expunged[uids[i]] {
			continue
		}
		b = s.appendFlagsFetch(b[:0], uint32(p+1), m.UID, m.Flags)
		s.writeBytes(b)
	}
	return nil
}

func (s *session) cmdExpunge(c *imapwire.Command) error {
	sel := s.sel
	if sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	var only []store.UID
	if c.UID {
		// RFC 4315 §2.1: UID EXPUNGE removes only the named messages.
		pos, err := sel.resolve(c.Seq, true)
		if err != nil {
			return err
		}
		if only = sel.uidsAt(pos); len(only) == 0 {
			return nil
		}
	}
	removed, err := s.expungeDeleted(only)
	if err != nil {
		return err
	}
	for _, u := range removed {
		if sel.seqOf(u) != 0 {
			sel.expunged[u] = true
		}
	}
	sel.dirty = true
	// The sync after the command sends the EXPUNGE responses.
	return nil
}

// expungeDeleted removes the messages flagged \Deleted, all of them or
// those in only.
func (s *session) expungeDeleted(only []store.UID) ([]store.UID, error) {
	sel := s.sel
	ctx, cancel := s.ctx()
	defer cancel()
	var deleted []store.UID
	if only == nil {
		all, err := s.srv.o.Store.ListMessages(ctx, sel.mb.ID)
		if err != nil {
			return nil, s.storeError(err, "EXPUNGE")
		}
		for _, m := range all {
			if hasFlag(m.Flags, store.FlagDeleted) {
				deleted = append(deleted, m.UID)
			}
		}
	} else {
		metas, err := s.metas(only)
		if err != nil {
			return nil, s.storeError(err, "EXPUNGE")
		}
		for _, u := range only {
			if m, ok := metas(u); ok && hasFlag(m.Flags, store.FlagDeleted) {
				deleted = append(deleted, u)
			}
		}
	}
	if len(deleted) == 0 {
		return nil, nil
	}
	removed, err := s.srv.o.Store.Expunge(ctx, sel.mb.ID, deleted)
	if err != nil {
		return nil, s.storeError(err, "EXPUNGE")
	}
	s.log.Info("expunge", "mailbox", sel.mb.Name, "count", len(removed))
	return removed, nil
}

// cmdCopy serves COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851), with
// COPYUID (RFC 4315).
func (s *session) cmdCopy(c *imapwire.Command) error {
	sel := s.sel
	move := c.Name == "MOVE"
	if move && sel.readOnly {
		return no("READ-ONLY", "mailbox is read-only")
	}
	name, err := s.mailboxName(c.Dest)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	dest, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, name)
	if err != nil {
		if isNotFound(err) {
			// RFC 9051 §6.4.7: TRYCREATE tells the client to create it.
			return no("TRYCREATE", "no such mailbox")
		}
		return s.storeError(err, c.Name)
	}
	pos, err := sel.resolve(c.Seq, c.UID)
	if err != nil {
		return err
	}
	uids := sel.uidsAt(pos)
	live := uids[:0:0]
	for _, u := range uids {
		if !sel.expunged[u] {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		if len(uids) > 0 {
			return no("EXPUNGEISSUED", "the messages were expunged")
		}
		return nil
	}
	var src, dst []store.UID
	if move {
		src, dst, err = s.srv.o.Store.Move(ctx, sel.mb.ID, live, dest.ID)
	} else {
		src, dst, err = s.srv.o.Store.Copy(ctx, sel.mb.ID, live, dest.ID)
	}
	if err != nil {
		return s.storeError(err, c.Name)
	}
	if dest.ID == sel.mb.ID {
		sel.dirty = true
	}
	if len(src) == 0 {
		return no("EXPUNGEISSUED", "the messages were expunged")
	}
	code := "COPYUID " + strconv.FormatUint(uint64(dest.UIDValidity), 10) + " " + uidList(src) + " " + uidList(dst)
	if !move {
		return okCode(code, "COPY completed")
	}
	// RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
	s.writeString("* OK [" + code + "] moved\r\n")
	for _, u := range src {
		if sel.seqOf(u) != 0 {
			sel.expunged[u] = true
		}
	}
	s.reportExpunges()
	sel.dirty = true
	return nil
}

// uidList writes UIDs in their order: compactly when ascending, so that
// the source and destination sets of COPYUID pair up.
func uidList(uids []store.UID) string {
	n := make([]uint32, len(uids))
	asc := true
	for i, u := range uids {
		n[i] = uint32(u)
		if i > 0 && n[i] <= n[i-1] {
			asc = false
		}
	}
	if asc {
		return imapwire.FormatSet(n)
	}
	b := make([]byte, 0, 8*len(n))
	for i, u := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(u), 10)
	}
	return string(b)
}
