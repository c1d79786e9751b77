package imapd

import (
	"bytes"
	"errors"
	"slices"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// listThreshold: FETCH of more messages than this reads all metadata of
// the mailbox in one query instead of one query per message.
const listThreshold = 64

// fetchPlan says what a FETCH needs from the store.
type fetchPlan struct {
	items     []imapwire.FetchItem
	meta      bool // flags, dates, sizes
	parsed    bool // structure computed at delivery
	body      bool // message bytes
	setSeen   bool // a non-peek body fetch sets \Seen (RFC 9051 §6.4.5)
	wantFlags bool
	wantUID   bool
	modseq    bool // MODSEQ asked for, or implied by CHANGEDSINCE (RFC 7162 §3.1.4.1)
	// changedSince limits the FETCH to messages changed after it.
	changedSince store.ModSeq
	hasChanged   bool
	vanished     bool // UID FETCH ... (VANISHED): report expunges since changedSince
}

func planFetch(fr *imapwire.FetchRequest, uid bool) (*fetchPlan, error) {
	p := &fetchPlan{meta: true}
	hasUID := false
	for _, it := range fr.Items {
		switch it.Name {
		case "UID":
			hasUID = true
		case "FLAGS":
			p.wantFlags = true
		case "MODSEQ":
			p.modseq = true
		case "INTERNALDATE", "RFC822.SIZE":
		case "ENVELOPE", "BODYSTRUCTURE", "BODY.STRUCTURE":
			p.parsed = true
		case "RFC822", "RFC822.TEXT":
			p.parsed, p.body, p.setSeen = true, true, true
		case "RFC822.HEADER":
			p.parsed, p.body = true, true
		case "BODY", "BINARY", "BINARY.SIZE":
			p.parsed, p.body = true, true
			if !it.Peek && it.Name != "BINARY.SIZE" {
				p.setSeen = true
			}
		default:
			return nil, bad("unsupported fetch attribute %s", it.Name)
		}
		if len(p.items) > 100 {
			return nil, bad("too many fetch attributes")
		}
		p.items = append(p.items, it)
	}
	if fr.Vanished && (!uid || !fr.HasChangedSince) {
		// RFC 7162 §3.2.6: VANISHED is for UID FETCH with CHANGEDSINCE.
		return nil, bad("VANISHED needs UID FETCH with CHANGEDSINCE")
	}
	p.changedSince, p.hasChanged, p.vanished = store.ModSeq(fr.ChangedSince), fr.HasChangedSince, fr.Vanished
	if p.hasChanged && !p.modseq {
		// RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ.
		p.modseq = true
		p.items = append(p.items, imapwire.FetchItem{Name: "MODSEQ"})
	}
	if uid && !hasUID {
		// RFC 9051 §6.4.9: UID FETCH responses include the UID.
		p.items = append([]imapwire.FetchItem{{Name: "UID"}}, p.items...)
		hasUID = true
	}
	p.wantUID = hasUID
	return p, nil
}

func (s *session) cmdFetch(c *imapwire.Command) error {
	sel := s.sel
	plan, err := planFetch(c.Fetch, c.UID)
	if err != nil {
		return err
	}
	if plan.vanished && !s.qresync {
		return bad("VANISHED needs ENABLE QRESYNC first")
	}
	pos, err := sel.resolve(c.Seq, c.UID)
	if err != nil {
		return err
	}
	if plan.modseq {
		s.enableCondstore() // RFC 7162 §3.1: MODSEQ and CHANGEDSINCE enable it
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var changed map[store.UID]store.MessageMeta
	if plan.hasChanged {
		// Only the messages changed since the modseq; the store finds
		// them by modseq, whatever the mailbox's size.
		ch, err := s.srv.o.Store.Changes(ctx, sel.mb.ID, plan.changedSince)
		if err != nil {
			return s.storeError(err, "FETCH")
		}
		if plan.vanished {
			s.fetchVanished(c.Seq, ch)
		}
		changed = make(map[store.UID]store.MessageMeta, len(ch.Messages))
		for _, m := range ch.Messages {
			changed[m.UID] = m
		}
		pos = slices.DeleteFunc(pos, func(p int) bool {
			_, ok := changed[sel.uids[p]]
			return !ok
		})
	}
	if len(pos) == 0 {
		return nil
	}
	uids := sel.uidsAt(pos)

	// Set \Seen first, so that the FLAGS sent reflect it.
	seenSet := map[store.UID]bool{}
	if plan.setSeen && !sel.readOnly {
		res, err := s.srv.o.Store.UpdateFlags(ctx, store.FlagUpdate{Mailbox: sel.mb.ID, UIDs: uids, Op: store.FlagsAdd, Flags: []string{store.FlagSeen}})
		if err != nil {
			return s.storeError(err, "FETCH")
		}
		for _, m := range res.Updated {
			seenSet[m.UID] = true
			sel.own[m.UID] = m.ModSeq
		}
		if len(res.Updated) > 0 {
			sel.foldOwn(res.Updated[0].ModSeq)
			sel.learnt(res.Updated)
		}
	}

	n := fetchNeed(plan)
	var metas func(store.UID) (store.MessageMeta, bool)
	var whole *stored // the one message, read with its metadata
	if n == needBody && changed == nil && len(uids) == 1 {
		// One whole message (a client opening it): its metadata, structure
		// and bytes in one statement rather than two.
		var m store.MessageMeta
		var ok bool
		if m, whole, ok, err = s.readWhole(uids[0]); err != nil {
			return s.storeError(err, "FETCH")
		} else if ok {
			metas = func(u store.UID) (store.MessageMeta, bool) { return m, whole != nil && u == m.UID }
		}
	}
	switch {
	case metas != nil:
	case changed != nil && len(seenSet) == 0:
		metas = func(u store.UID) (store.MessageMeta, bool) {
			m, ok := changed[u]
			return m, ok
		}
	default:
		if metas, err = s.metas(uids); err != nil {
			return s.storeError(err, "FETCH")
		}
	}
	// The messages still there, then their stored form read in batches.
	present := make([]store.MessageMeta, 0, len(pos))
	seqs := make([]int, 0, len(pos))
	missing := false
	for i, p := range pos {
		m, ok := metas(uids[i])
		if !ok || sel.expunged[uids[i]] {
			missing = true
			continue
		}
		present = append(present, m)
		seqs = append(seqs, p)
	}
	enc := encoder{utf8: s.utf8}
	var b []byte
	for start := 0; start < len(present); {
		end := batchEnd(present, start, n)
		var msgs []*stored
		if whole != nil {
			msgs = []*stored{whole}
		} else if n > needNone {
			if msgs, err = s.readBatch(present[start:end], n, false); err != nil {
				return s.storeError(err, "FETCH")
			}
		}
		for j := start; j < end; j++ {
			m := &present[j]
			var msg *stored
			if n > needNone {
				if msg = msgs[j-start]; msg == nil {
					missing = true
					continue
				}
			}
			b = append(b[:0], "* "...)
			b = appendUint(b, uint64(seqs[j]+1))
			b = append(b, " FETCH ("...)
			b, err = s.fetchItems(b, plan, *m, msg, enc, seenSet[m.UID])
			if err != nil {
				return err
			}
			b = append(b, ")\r\n"...)
			s.writeBytes(b)
			if cap(b) > 1<<20 {
				b = nil // do not keep a large message's buffer
			}
		}
		start = end
	}
	if missing {
		// RFC 9051 §7.1: some messages were expunged by another session.
		return no("EXPUNGEISSUED", "some messages were expunged")
	}
	return nil
}

// metas returns a lookup of the messages' metadata (uids ascending):
// from the session's cache when it has one, else one batch query (up to
// store.MaxBatch), else one range query.
func (s *session) metas(uids []store.UID) (func(store.UID) (store.MessageMeta, bool), error) {
	return s.readMetaLookup(uids, false)
}

// freshMetas is metas read from the store, whatever the session's cache
// holds.
func (s *session) freshMetas(uids []store.UID) (func(store.UID) (store.MessageMeta, bool), error) {
	return s.readMetaLookup(uids, true)
}

func (s *session) readMetaLookup(uids []store.UID, fresh bool) (func(store.UID) (store.MessageMeta, bool), error) {
	ctx, cancel := s.ctx()
	defer cancel()
	mbID := s.sel.mb.ID
	byUID := func(all []store.MessageMeta) func(store.UID) (store.MessageMeta, bool) {
		return func(u store.UID) (store.MessageMeta, bool) {
			i, ok := slices.BinarySearchFunc(all, u, func(m store.MessageMeta, u store.UID) int { return int(int64(m.UID) - int64(u)) })
			if !ok {
				return store.MessageMeta{}, false
			}
			return all[i], true
		}
	}
	if all, ok, err := s.readMetas(uids, fresh); ok {
		return byUID(all), err
	}
	if lo, hi := slices.Min(uids), slices.Max(uids); len(uids) > listThreshold || int64(hi-lo) < 4*int64(len(uids))+16 {
		// uids ascend: one query for their UID range, when it is not
		// much wider than the UIDs asked for.
		all, err := s.srv.sync.ListMessagesRange(ctx, mbID, lo, hi)
		if err != nil {
			return nil, err
		}
		return byUID(all), nil
	}
	got := make(map[store.UID]store.MessageMeta, len(uids))
	for _, u := range uids {
		m, err := s.srv.o.Store.GetMessage(ctx, mbID, u)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		got[u] = m
	}
	return func(u store.UID) (store.MessageMeta, bool) {
		m, ok := got[u]
		return m, ok
	}, nil
}

// readWhole reads one message of the selected mailbox with its metadata
// and structure in one store call. ok is false when the store cannot
// (no store.BatchReader); msg is nil when the message is gone.
func (s *session) readWhole(uid store.UID) (m store.MessageMeta, msg *stored, ok bool, err error) {
	br, ok := s.srv.o.Store.(store.BatchReader)
	if !ok {
		return m, nil, false, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := br.ReadBatch(ctx, s.sel.mb.ID, []store.UID{uid}, store.BatchParsed|store.BatchBody)
	if err != nil || len(rows) == 0 || rows[0].Meta.UID != uid {
		return m, nil, true, err
	}
	r := &rows[0]
	m = r.Meta
	msg = &stored{msg: r.Message, prefixLen: min(max(m.PrefixLen, 0), len(r.Message))}
	if len(r.Parsed) > 0 {
		if msg.st, err = message.Unmarshal(r.Parsed); err == nil {
			return m, s.keep(&m, msg, needBody, len(r.Parsed), false), true, nil
		}
	}
	// No usable stored structure (older data): the slow path.
	msg, err = s.readStored(m, true)
	if errors.Is(err, store.ErrNotFound) {
		return m, nil, true, nil
	}
	if err != nil {
		return m, nil, true, err
	}
	return m, s.keep(&m, msg, needBody, 0, false), true, nil
}

// readStored reads a message's structure and, when needed, its bytes.
func (s *session) readStored(m store.MessageMeta, withBody bool) (*stored, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	out := &stored{prefixLen: m.PrefixLen}
	if withBody {
		msg, err := s.srv.o.Store.ReadMessage(ctx, m.Mailbox, m.UID)
		if err != nil {
			return nil, err
		}
		out.msg = msg
		out.prefixLen = min(max(m.PrefixLen, 0), len(msg))
	}
	raw, err := s.srv.o.Store.ReadParsed(ctx, m.Mailbox, m.UID)
	if err != nil {
		return nil, err
	}
	if len(raw) > 0 {
		out.st, err = message.Unmarshal(raw)
	}
	if len(raw) == 0 || err != nil {
		// No usable stored structure (older data): parse now.
		s.log.Warn("message without stored structure; parsing", "uid", m.UID, "err", err)
		if out.msg == nil {
			msg, err := s.srv.o.Store.ReadMessage(ctx, m.Mailbox, m.UID)
			if err != nil {
				return nil, err
			}
			out.msg = msg
			out.prefixLen = min(max(m.PrefixLen, 0), len(msg))
		}
		out.st = message.Parse(out.body())
	}
	return out, nil
}

// fetchItems appends the attributes of one message.
func (s *session) fetchItems(b []byte, plan *fetchPlan, m store.MessageMeta, msg *stored, enc encoder, seenNow bool) ([]byte, error) {
	flags := m.Flags
	if seenNow && !hasFlag(flags, store.FlagSeen) {
		flags = append(slices.Clone(flags), store.FlagSeen)
	}
	first := true
	sp := func() {
		if !first {
			b = append(b, ' ')
		}
		first = false
	}
	for _, it := range plan.items {
		sp()
		switch it.Name {
		case "UID":
			b = append(b, "UID "...)
			b = appendUint(b, uint64(m.UID))
		case "FLAGS":
			b = append(b, "FLAGS "...)
			b = imapwire.AppendFlags(b, validFlags(flags))
		case "INTERNALDATE":
			b = append(b, "INTERNALDATE "...)
			b = imapwire.AppendDateTime(b, m.InternalDate)
		case "RFC822.SIZE":
			b = append(b, "RFC822.SIZE "...)
			b = appendUint(b, uint64(m.Size))
		case "MODSEQ":
			b = append(b, "MODSEQ ("...)
			b = appendUint(b, uint64(m.ModSeq))
			b = append(b, ')')
		case "ENVELOPE":
			b = append(b, "ENVELOPE "...)
			b = enc.envelope(b, &msg.st.Envelope)
		case "BODYSTRUCTURE":
			b = append(b, "BODYSTRUCTURE "...)
			b = enc.body(b, &msg.st.Root, true, 0)
		case "BODY.STRUCTURE":
			b = append(b, "BODY "...)
			b = enc.body(b, &msg.st.Root, false, 0)
		case "RFC822":
			b = append(b, "RFC822 "...)
			b = imapwire.AppendLiteralBytes(b, msg.msg)
		case "RFC822.HEADER":
			data, _ := msg.section(imapwire.Section{Specifier: "HEADER"})
			b = append(b, "RFC822.HEADER "...)
			b = imapwire.AppendLiteralBytes(b, data)
		case "RFC822.TEXT":
			data, _ := msg.section(imapwire.Section{Specifier: "TEXT"})
			b = append(b, "RFC822.TEXT "...)
			b = imapwire.AppendLiteralBytes(b, data)
		case "BODY":
			data, err := msg.section(it.Section)
			b = append(b, it.ResponseName()...)
			b = append(b, ' ')
			if err != nil {
				// A part the message does not have: NIL, as Dovecot does.
				b = append(b, "NIL"...)
				continue
			}
			b = imapwire.AppendLiteralBytes(b, partial(data, it))
		case "BINARY", "BINARY.SIZE":
			data, err := msg.binary(it.Section)
			if errors.Is(err, message.ErrUnknownEncoding) {
				// RFC 3516 §4.3.
				return nil, no("UNKNOWN-CTE", "cannot decode part %s", it.Section.String())
			}
			b = append(b, it.ResponseName()...)
			b = append(b, ' ')
			if err != nil {
				b = append(b, "NIL"...)
				continue
			}
			if it.Name == "BINARY.SIZE" {
				b = appendUint(b, uint64(len(data)))
				continue
			}
			data = partial(data, it)
			if bytes.IndexByte(data, 0) >= 0 {
				b = imapwire.AppendLiteral8(b, data)
			} else {
				b = imapwire.AppendLiteralBytes(b, data)
			}
		}
	}
	if seenNow && !plan.wantFlags {
		// RFC 9051 §6.4.5: report the \Seen this FETCH set.
		sp()
		b = append(b, "FLAGS "...)
		b = imapwire.AppendFlags(b, validFlags(flags))
	}
	if seenNow && s.condstore {
		// RFC 7162 §3.1: a FETCH that set \Seen reports UID and MODSEQ.
		if !plan.wantUID {
			sp()
			b = append(b, "UID "...)
			b = appendUint(b, uint64(m.UID))
		}
		if !plan.modseq {
			sp()
			b = append(b, "MODSEQ ("...)
			b = appendUint(b, uint64(m.ModSeq))
			b = append(b, ')')
		}
	}
	return b, nil
}

// partial applies <offset.count> (RFC 9051 §6.4.5).
func partial(data []byte, it imapwire.FetchItem) []byte {
	if !it.Partial {
		return data
	}
	if it.Offset >= int64(len(data)) {
		return nil
	}
	data = data[it.Offset:]
	if it.Count >= 0 && it.Count < int64(len(data)) {
		data = data[:it.Count]
	}
	return data
}
