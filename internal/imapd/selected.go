package imapd

import (
	"errors"
	"slices"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// selected is a session's view of its selected mailbox: the UIDs in
// sequence-number order as the client knows them, and the modseq up to
// which the store's changes are folded in.
type selected struct {
	mb       store.Mailbox
	readOnly bool
	uids     []store.UID
	modseq   store.ModSeq
	// reported is the modseq up to which every change has been reported
	// to the client: modseq, unless expunges are pending. It is the
	// HIGHESTMODSEQ a client may be told mid-session (RFC 7162 §3.1.2.1:
	// a client resuming from it must miss nothing).
	reported store.ModSeq
	// expunged holds UIDs gone from the store whose EXPUNGE has not been
	// sent yet (RFC 9051 §7.5.1): they keep their sequence numbers until
	// then.
	expunged map[store.UID]bool
	// own holds flag changes this session has reported itself (FETCH
	// after STORE), so that sync does not report them again.
	own    map[store.UID]store.ModSeq
	events <-chan store.Event
	cancel func()
	// dirty says the store may hold changes not folded in yet.
	dirty bool
	// saved is the SEARCHRES result, "$" (RFC 5182).
	saved []store.UID
	// metas is the messages' metadata once the session has read the
	// whole mailbox (metacache.go); nil when it has not.
	metas *metaCache
}

func (sel *selected) close() {
	if sel.cancel != nil {
		sel.cancel()
		sel.cancel = nil
	}
}

func (sel *selected) lastUID() store.UID {
	if len(sel.uids) == 0 {
		return 0
	}
	return sel.uids[len(sel.uids)-1]
}

// seqOf returns a UID's sequence number, or 0 when it is not in the view.
func (sel *selected) seqOf(uid store.UID) uint32 {
	i, ok := slices.BinarySearch(sel.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// foldOwn takes in the session's own write of modseq, whose changes the
// command reports itself: a write takes one new modseq per mailbox
// (store.Messages), so when the view is current up to the modseq before
// it, nothing else can lie between and the view is now current up to
// modseq. The change feed's event for it then finds nothing new, and the
// store is not asked for changes the session already knows.
func (sel *selected) foldOwn(modseq store.ModSeq) bool {
	if modseq != sel.modseq+1 {
		return false
	}
	sel.modseq = modseq
	return true
}

// drainEvents notes, without blocking, whether the feed reported a change
// to the selected mailbox.
func (sel *selected) drainEvents() {
	for {
		select {
		case ev, ok := <-sel.events:
			if !ok {
				// The feed ended: nothing tells the session of changes
				// any more, so it keeps nothing it could not refresh.
				sel.events = nil
				sel.dirty = true
				sel.dropMetas()
				return
			}
			if ev.Kind == store.EventMailboxes || (ev.Mailbox == sel.mb.ID && ev.ModSeq > sel.modseq) {
				sel.dirty = true
			}
		default:
			return
		}
	}
}

func (s *session) unselect() {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.state = stateAuth
}

func (s *session) cmdSelect(c *imapwire.Command) error {
	readOnly := c.Name == "EXAMINE"
	condstore := false
	for _, p := range c.SelectParams {
		switch p {
		case "CONDSTORE":
			condstore = true // RFC 7162 §3.1.8
		case "QRESYNC":
			if !s.qresync {
				// RFC 7162 §3.2.5: only after ENABLE QRESYNC.
				return bad("QRESYNC needs ENABLE QRESYNC first")
			}
		default:
			return bad("unknown %s parameter %s", c.Name, p)
		}
	}
	if s.sel != nil {
		s.unselect()
		// RFC 9051 §6.3.2 and RFC 7162 §3.2.11: the previous mailbox is
		// closed first.
		s.writeString("* OK [CLOSED] previous mailbox closed\r\n")
	}
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// Subscribe before reading, so that no change falls between.
	events, stop := s.srv.subscribe(s, s.account.ID)
	mb, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, name)
	if err != nil {
		stop()
		return s.storeError(err, c.Name)
	}
	// The UIDs and HIGHESTMODSEQ come from one snapshot, so that a client
	// resuming from this HIGHESTMODSEQ misses no change.
	view, err := s.srv.sync.MailboxView(ctx, mb.ID)
	if err != nil {
		stop()
		return s.storeError(err, c.Name)
	}
	if condstore {
		s.condstore = true
	}
	mb = view.Mailbox
	sel := &selected{
		mb: mb, readOnly: readOnly, modseq: mb.HighestModSeq, reported: mb.HighestModSeq,
		uids:     view.UIDs,
		expunged: map[store.UID]bool{},
		own:      map[store.UID]store.ModSeq{},
		events:   events, cancel: stop,
	}
	if !slices.IsSorted(sel.uids) {
		slices.Sort(sel.uids)
	}
	uidNext := max(mb.UIDNext, sel.lastUID()+1)

	flags := []string{store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagSeen, store.FlagDraft}
	for _, k := range view.Keywords {
		if imapwire.ValidFlag(k) {
			flags = append(flags, k)
		}
	}
	s.writeBytes(imapwire.AppendFlags([]byte("* FLAGS "), flags))
	s.writeString("\r\n")
	if readOnly {
		s.writeString("* OK [PERMANENTFLAGS ()] read-only\r\n")
	} else {
		s.writeBytes(imapwire.AppendFlags([]byte("* OK [PERMANENTFLAGS "), append(flags, `\*`)))
		s.writeString("] flags permitted\r\n")
	}
	s.writef("* %d EXISTS\r\n", len(sel.uids))
	if !s.rev2 {
		// RFC 3501 §6.3.1; IMAP4rev2 dropped \Recent and UNSEEN.
		s.writeString("* 0 RECENT\r\n")
		if view.FirstUnseen != 0 {
			if i, ok := slices.BinarySearch(sel.uids, view.FirstUnseen); ok {
				s.writef("* OK [UNSEEN %d] first unseen\r\n", i+1)
			}
		}
	}
	s.writef("* OK [UIDVALIDITY %d] UIDs valid\r\n", mb.UIDValidity)
	s.writef("* OK [UIDNEXT %d] predicted next UID\r\n", uidNext)
	if s.condstore {
		// RFC 7162 §3.1.2.1.
		s.writef("* OK [HIGHESTMODSEQ %d] highest modseq\r\n", mb.HighestModSeq)
	}
	if s.rev2 {
		// RFC 9051 §6.3.2: a LIST response with the mailbox's name.
		b := s.appendName([]byte(`* LIST () "/" `), mb.Name)
		s.writeBytes(append(b, "\r\n"...))
	}
	s.sel = sel
	s.state = stateSelected
	if c.QResync != nil {
		if err := s.qresyncSelect(c.QResync); err != nil {
			return err
		}
	}
	if readOnly {
		return okCode("READ-ONLY", c.Name+" completed")
	}
	return okCode("READ-WRITE", c.Name+" completed")
}

// cmdClose serves CLOSE (expunging \Deleted messages silently, RFC 9051
// §6.4.1) and UNSELECT (RFC 3691).
func (s *session) cmdClose(c *imapwire.Command) error {
	if c.Name == "CLOSE" && !s.sel.readOnly {
		if _, err := s.expungeDeleted(nil); err != nil {
			s.unselect()
			return err
		}
	}
	s.unselect()
	return nil
}

// sync folds the store's changes into the view and reports them: FETCH
// for changed flags, EXPUNGE or VANISHED (only with syncFull) and
// EXISTS. It returns false when the session has ended (the mailbox is
// gone).
func (s *session) sync(mode syncMode) bool {
	sel := s.sel
	sel.drainEvents()
	if sel.dirty {
		ctx, cancel := s.ctx()
		defer cancel()
		ch, err := s.srv.o.Store.Changes(ctx, sel.mb.ID, sel.modseq)
		if errors.Is(err, store.ErrNotFound) {
			s.bye("selected mailbox was deleted")
			return false
		}
		if err != nil {
			s.log.Error("reading mailbox changes", "err", err)
			return true
		}
		if ch.ExpungedIncomplete {
			sel.dropMetas()
			// The expunge history no longer reaches back to our modseq:
			// what is gone is what the store no longer has.
			v, err := s.srv.sync.MailboxView(ctx, sel.mb.ID)
			if err != nil {
				s.log.Error("reading mailbox", "err", err)
				return true
			}
			for _, u := range sel.uids {
				if _, ok := slices.BinarySearch(v.UIDs, u); !ok {
					sel.expunged[u] = true
				}
			}
		}
		sel.dirty = false
		sel.learnt(ch.Messages)
		sel.forget(ch.Expunged)
		for _, u := range ch.Expunged {
			if sel.seqOf(u) != 0 {
				sel.expunged[u] = true
			}
		}
		last := sel.lastUID()
		var added []store.UID
		var b []byte
		for _, m := range ch.Messages {
			if m.UID > last {
				added = append(added, m.UID)
				continue
			}
			if sel.expunged[m.UID] || sel.own[m.UID] >= m.ModSeq {
				continue
			}
			seq := sel.seqOf(m.UID)
			if seq == 0 {
				continue
			}
			b = s.appendFlagsFetch(b[:0], seq, m, true)
			s.writeBytes(b)
		}
		clear(sel.own)
		if ch.HighestModSeq > sel.modseq {
			sel.modseq = ch.HighestModSeq
		}
		if mode == syncFull {
			s.reportExpunges()
		}
		if len(added) > 0 {
			sel.uids = append(sel.uids, added...)
			s.writef("* %d EXISTS\r\n", len(sel.uids))
		}
	} else if mode == syncFull {
		s.reportExpunges()
	}
	if len(sel.expunged) == 0 {
		// Every change up to modseq has been reported.
		sel.reported = sel.modseq
	}
	return true
}

// reportExpunges sends the pending expunges and drops them from the
// view: EXPUNGE responses, highest sequence number first so that each
// number is right as sent, or once QRESYNC is enabled one VANISHED
// response (RFC 7162 §3.2.10).
func (s *session) reportExpunges() {
	sel := s.sel
	if len(sel.expunged) == 0 {
		return
	}
	if s.qresync {
		gone := make([]uint32, 0, len(sel.expunged))
		for _, u := range sel.uids {
			if sel.expunged[u] {
				gone = append(gone, uint32(u))
			}
		}
		s.writeString("* VANISHED " + imapwire.FormatSet(gone) + "\r\n")
	} else {
		for i := len(sel.uids) - 1; i >= 0; i-- {
			if sel.expunged[sel.uids[i]] {
				s.writef("* %d EXPUNGE\r\n", i+1)
			}
		}
	}
	kept := sel.uids[:0]
	for _, u := range sel.uids {
		if !sel.expunged[u] {
			kept = append(kept, u)
		}
	}
	sel.uids = kept
	clear(sel.expunged)
}

// appendFlagsFetch appends an unsolicited "* n FETCH (UID u FLAGS (...))",
// with the message's MODSEQ once CONDSTORE is enabled (RFC 7162 §3.1.4:
// every FETCH reporting a flag change carries it).
func (s *session) appendFlagsFetch(b []byte, seq uint32, m store.MessageMeta, withFlags bool) []byte {
	b = append(b, "* "...)
	b = appendUint(b, uint64(seq))
	b = append(b, " FETCH (UID "...)
	b = appendUint(b, uint64(m.UID))
	if withFlags {
		b = append(b, " FLAGS "...)
		b = imapwire.AppendFlags(b, validFlags(m.Flags))
	}
	if s.condstore {
		b = append(b, " MODSEQ ("...)
		b = appendUint(b, uint64(m.ModSeq))
		b = append(b, ')')
	}
	return append(b, ")\r\n"...)
}

// validFlags drops flags that cannot be written as IMAP flags (a store
// shared with other protocols might hold some).
func validFlags(flags []string) []string {
	for _, f := range flags {
		if !imapwire.ValidFlag(f) {
			out := make([]string, 0, len(flags))
			for _, f := range flags {
				if imapwire.ValidFlag(f) {
					out = append(out, f)
				}
			}
			return out
		}
	}
	return flags
}
