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
	sr := c.Store
	if sr.HasUnchanged {
		s.enableCondstore() // RFC 7162 §3.1
	}
	flags, err := storeFlags(sr.Flags)
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
	switch sr.Op {
	case '+':
		op = store.FlagsAdd
	case '-':
		op = store.FlagsRemove
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var res store.FlagResult
	if sr.HasUnchanged && sr.UnchangedSince == 0 {
		// RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message (all
		// modseqs are above 0); the store reads 0 as "no condition".
		for _, u := range uids {
			if !sel.expunged[u] {
				res.Failed = append(res.Failed, u)
			}
		}
	} else {
		res, err = s.srv.o.Store.UpdateFlags(ctx, store.FlagUpdate{
			Mailbox: sel.mb.ID, UIDs: uids, Op: op, Flags: flags, UnchangedSince: store.ModSeq(sr.UnchangedSince),
		})
		if err != nil {
			return s.storeError(err, "STORE")
		}
	}
	updated := make(map[store.UID]store.MessageMeta, len(res.Updated))
	for _, m := range res.Updated {
		sel.own[m.UID] = m.ModSeq
		updated[m.UID] = m
	}
	if len(res.Updated) > 0 {
		sel.foldOwn(res.Updated[0].ModSeq)
		sel.learnt(res.Updated)
	}
	failed := make(map[store.UID]bool, len(res.Failed))
	for _, u := range res.Failed {
		failed[u] = true
	}
	var b []byte
	switch {
	case sr.Silent && s.condstore:
		// RFC 7162 §3.1.3 (example 10): .SILENT still reports the new
		// MODSEQ of the messages it changed.
		for i, p := range pos {
			if m, ok := updated[uids[i]]; ok && !sel.expunged[m.UID] {
				b = s.appendFlagsFetch(b[:0], uint32(p+1), m, false)
				s.writeBytes(b)
			}
		}
	case !sr.Silent:
		// RFC 9051 §6.4.6: a FETCH with the flags of every message named,
		// changed or not; not for those UNCHANGEDSINCE kept (RFC 7162
		// §3.1.3: the client is told of them by MODIFIED).
		metas, err := s.metas(uids)
		if err != nil {
			return s.storeError(err, "STORE")
		}
		for i, p := range pos {
			m, ok := metas(uids[i])
			if !ok || sel.expunged[uids[i]] || failed[uids[i]] {
				continue
			}
			b = s.appendFlagsFetch(b[:0], uint32(p+1), m, true)
			s.writeBytes(b)
		}
	}
	if len(res.Failed) > 0 {
		// RFC 7162 §3.1.3: MODIFIED lists what was not stored, as
		// sequence numbers, or as UIDs for UID STORE.
		nums := make([]uint32, 0, len(res.Failed))
		for _, u := range res.Failed {
			if c.UID {
				nums = append(nums, uint32(u))
			} else if seq := sel.seqOf(u); seq != 0 {
				nums = append(nums, seq)
			}
		}
		slices.Sort(nums)
		return okCode("MODIFIED "+imapwire.FormatSet(slices.Compact(nums)), "conditional STORE failed")
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
	sel.forget(removed)
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
		var err error
		if deleted, err = s.srv.sync.DeletedUIDs(ctx, sel.mb.ID); err != nil {
			return nil, s.storeError(err, "EXPUNGE")
		}
	} else {
		// From the store, not the session's cache: only what is
		// \Deleted now may go.
		metas, err := s.freshMetas(only)
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
	if !move {
		// RFC 9208 §4.3.1: OVERQUOTA when the copy would exceed a limit.
		// A MOVE within the account (one quota root) changes no usage, so
		// it is never refused: a user at the limit can still move mail
		// to Trash.
		if err := s.checkCopyQuota(live); err != nil {
			return err
		}
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
	sel.forget(src)
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
