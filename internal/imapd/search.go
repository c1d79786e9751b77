package imapd

import (
	"slices"
	"strings"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// maxSearchText bounds the decoded text searched per message.
const maxSearchText = 4 << 20

// candidate is one message being matched.
type candidate struct {
	seq  uint32
	meta store.MessageMeta
	msg  *stored
	text string // decoded body text, computed once
	have bool
}

func (s *session) cmdSearch(c *imapwire.Command) error {
	sel := s.sel
	sr := c.Search
	switch sr.Charset {
	case "", "UTF-8", "US-ASCII":
	default:
		// RFC 9051 §6.4.4: BADCHARSET lists what we support.
		return no("BADCHARSET (UTF-8 US-ASCII)", "unsupported charset %s", sr.Charset)
	}
	for _, o := range sr.Return {
		switch o {
		case "MIN", "MAX", "ALL", "COUNT", "SAVE":
		default:
			return bad("unknown RETURN option %s", o)
		}
	}
	var hits []store.UID
	var seqs []uint32
	var mods []store.ModSeq
	err := s.searchEach(sr.Key, false, func(c *candidate) {
		hits = append(hits, c.meta.UID)
		seqs = append(seqs, c.seq)
		mods = append(mods, c.meta.ModSeq)
	})
	if err != nil {
		return err
	}
	withModSeq := searchHasModSeq(sr.Key)
	if withModSeq {
		s.enableCondstore() // RFC 7162 §3.1: SEARCH MODSEQ enables CONDSTORE
	}
	nums := seqs
	if c.UID {
		nums = make([]uint32, len(hits))
		for i, u := range hits {
			nums[i] = uint32(u)
		}
	}
	save := slices.Contains(sr.Return, "SAVE")
	if save {
		// RFC 5182 §2.4: with MIN or MAX only, only those are saved.
		sel.saved = hits
		onlyMinMax := !slices.Contains(sr.Return, "ALL") && !slices.Contains(sr.Return, "COUNT") &&
			(slices.Contains(sr.Return, "MIN") || slices.Contains(sr.Return, "MAX"))
		if onlyMinMax && len(hits) > 0 {
			var keep []store.UID
			if slices.Contains(sr.Return, "MIN") {
				keep = append(keep, hits[0])
			}
			if slices.Contains(sr.Return, "MAX") && len(hits) > 1 {
				keep = append(keep, hits[len(hits)-1])
			}
			sel.saved = keep
		}
	}
	if !sr.HasReturn && !s.rev2 {
		b := append(make([]byte, 0, 16+8*len(nums)), "* SEARCH"...)
		for _, n := range nums {
			b = append(b, ' ')
			b = appendUint(b, uint64(n))
		}
		if withModSeq && len(nums) > 0 {
			// RFC 7162 §3.1.5: the highest modseq of the messages found.
			b = append(b, " (MODSEQ "...)
			b = appendUint(b, uint64(slices.Max(mods)))
			b = append(b, ')')
		}
		s.writeBytes(append(b, "\r\n"...))
		return nil
	}
	opts := sr.Return
	if len(opts) == 0 {
		opts = []string{"ALL"}
	}
	if save && len(opts) == 1 {
		// RFC 5182 §2.4: SAVE alone gives no ESEARCH response.
		return nil
	}
	// RFC 4731 §3.1 / RFC 9051 §7.3.4: ESEARCH response.
	b := append(make([]byte, 0, 64), "* ESEARCH (TAG "...)
	b = imapwire.AppendString(b, c.Tag, false)
	b = append(b, ')')
	if c.UID {
		b = append(b, " UID"...)
	}
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	for _, o := range opts {
		switch o {
		case "MIN":
			if len(sorted) > 0 {
				b = append(b, " MIN "...)
				b = appendUint(b, uint64(sorted[0]))
			}
		case "MAX":
			if len(sorted) > 0 {
				b = append(b, " MAX "...)
				b = appendUint(b, uint64(sorted[len(sorted)-1]))
			}
		case "COUNT":
			b = append(b, " COUNT "...)
			b = appendUint(b, uint64(len(sorted)))
		case "ALL":
			if len(sorted) > 0 {
				b = append(b, " ALL "...)
				b = append(b, imapwire.FormatSet(sorted)...)
			}
		}
	}
	if withModSeq && len(sorted) > 0 {
		// RFC 7162 §3.1.5: the highest modseq of the messages returned,
		// which are only the first and last for RETURN (MIN MAX).
		m := slices.Max(mods)
		if !slices.Contains(opts, "ALL") && !slices.Contains(opts, "COUNT") {
			m = max(mods[0], mods[len(mods)-1])
		}
		b = append(b, " MODSEQ "...)
		b = appendUint(b, uint64(m))
	}
	s.writeBytes(append(b, "\r\n"...))
	return nil
}

// searchEach runs a search over the selected mailbox and calls fn for
// every message that matches, in sequence order. With wantParsed, fn
// gets the message's structure (c.msg) even when the search did not
// need it. fn must not keep c: its message bytes are dropped after.
func (s *session) searchEach(key *imapwire.SearchKey, wantParsed bool, fn func(c *candidate)) error {
	sel := s.sel
	n := searchNeed(key)
	if wantParsed {
		n = max(n, needParsed)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var all []store.MessageMeta
	exact := false // all holds only messages of the view
	if len(sel.uids) > 0 {
		var ok bool
		var err error
		all, ok, err = s.readMetas(sel.uids, false)
		exact = ok
		if !ok {
			all, err = s.srv.sync.ListMessagesRange(ctx, sel.mb.ID, sel.uids[0], sel.lastUID())
		}
		if err != nil {
			return s.storeError(err, "SEARCH")
		}
	}
	metaOf := func(u store.UID) (store.MessageMeta, bool) {
		i, ok := slices.BinarySearchFunc(all, u, func(m store.MessageMeta, u store.UID) int { return int(int64(m.UID) - int64(u)) })
		if !ok {
			return store.MessageMeta{}, false
		}
		return all[i], true
	}
	count := uint32(len(sel.uids))
	// The messages still there, in sequence order, then read in batches.
	// all (a copy) is that list already when every message of the view
	// is there, as is usual; seqs nil then means message j is number j+1.
	present, seqs := all, []uint32(nil)
	if !exact || len(all) != len(sel.uids) || len(sel.expunged) > 0 {
		present = make([]store.MessageMeta, 0, len(sel.uids))
		seqs = make([]uint32, 0, len(sel.uids))
		for i, uid := range sel.uids {
			m, ok := metaOf(uid)
			if !ok || sel.expunged[uid] {
				continue
			}
			present = append(present, m)
			seqs = append(seqs, uint32(i+1))
		}
	}
	all = nil
	var cand candidate // one for every message: fn does not keep it
	for start := 0; start < len(present); {
		end := batchEnd(present, start, n)
		var msgs []*stored
		if n > needNone {
			var err error
			if msgs, err = s.readBatch(present[start:end], n, true); err != nil {
				return s.storeError(err, "SEARCH")
			}
		}
		for j := start; j < end; j++ {
			seq := uint32(j + 1)
			if seqs != nil {
				seq = seqs[j]
			}
			cand = candidate{seq: seq, meta: present[j]}
			if n > needNone {
				if cand.msg = msgs[j-start]; cand.msg == nil {
					continue // expunged meanwhile
				}
			}
			if s.match(key, &cand, count) {
				fn(&cand)
			}
		}
		if ctx.Err() != nil {
			return no("UNAVAILABLE", "search took too long")
		}
		start = end
	}
	return nil
}

// searchHasModSeq reports whether a search uses the MODSEQ key.
func searchHasModSeq(k *imapwire.SearchKey) bool {
	if k.Op == "MODSEQ" {
		return true
	}
	for _, c := range k.Children {
		if searchHasModSeq(c) {
			return true
		}
	}
	return false
}

// match evaluates a search key for one message (RFC 9051 §6.4.4).
func (s *session) match(k *imapwire.SearchKey, c *candidate, max uint32) bool {
	m := &c.meta
	switch k.Op {
	case "AND":
		for _, ch := range k.Children {
			if !s.match(ch, c, max) {
				return false
			}
		}
		return true
	case "OR":
		return s.match(k.Children[0], c, max) || s.match(k.Children[1], c, max)
	case "NOT":
		return !s.match(k.Children[0], c, max)
	case "ALL", "OLD":
		return true
	case "NEW", "RECENT":
		return false // no \Recent in IMAP4rev2
	case "SEQ":
		if k.Seq.Saved {
			return slices.Contains(s.sel.saved, m.UID)
		}
		return k.Seq.Contains(c.seq, max)
	case "UID":
		if k.Seq.Saved {
			return slices.Contains(s.sel.saved, m.UID)
		}
		return k.Seq.Contains(uint32(m.UID), uint32(s.sel.lastUID()))
	case "FLAG":
		return hasFlag(m.Flags, k.Flag)
	case "UNFLAG":
		return !hasFlag(m.Flags, k.Flag)
	case "LARGER":
		return uint64(m.Size) > k.N
	case "SMALLER":
		return uint64(m.Size) < k.N
	case "MODSEQ":
		return uint64(m.ModSeq) >= k.N
	case "BEFORE", "ON", "SINCE":
		return dateMatch(k.Op, m.InternalDate, k.Date)
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		if c.msg == nil || c.msg.st.Date.IsZero() {
			return false
		}
		return dateMatch(strings.TrimPrefix(k.Op, "SENT"), c.msg.st.Date, k.Date)
	case "HEADER":
		if envelopeSubject(k) {
			return c.msg != nil && containsFold(c.msg.st.Envelope.SubjectDecoded, k.Value)
		}
		return c.msg != nil && headerMatch(c.msg, k.Field, k.Value)
	case "BODY":
		return c.msg != nil && containsFold(c.bodyText(), k.Value)
	case "TEXT":
		if c.msg == nil {
			return false
		}
		return headerMatch(c.msg, "", k.Value) || containsFold(c.bodyText(), k.Value)
	}
	return false
}

// dateMatch compares the calendar dates, disregarding time and zone
// (RFC 9051 §6.4.4): t's date in its own zone.
func dateMatch(op string, t, day time.Time) bool {
	y, mo, d := t.Date()
	td := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	switch op {
	case "BEFORE":
		return td.Before(day)
	case "ON":
		return td.Equal(day)
	default: // SINCE
		return !td.Before(day)
	}
}

func (c *candidate) bodyText() string {
	if !c.have {
		c.text = message.Text(c.msg.body(), c.msg.st, maxSearchText)
		c.have = true
	}
	return c.text
}

// headerMatch looks for value in the decoded values of the named fields
// of the top-level header (all fields when name is ""). An empty value
// matches any message having the field.
func headerMatch(msg *stored, name, value string) bool {
	root := &msg.st.Root
	header := msg.msg[:msg.prefixLen+int(min(max(root.BodyStart, 0), int64(len(msg.body()))))]
	for _, f := range message.Fields(header) {
		if name != "" && !strings.EqualFold(f.Name, name) {
			continue
		}
		if value == "" || containsFold(message.DecodeHeader(f.Value), value) {
			return true
		}
	}
	return false
}

// envelopeSubject says whether k is SUBJECT with a value, which matches
// the envelope's subject (RFC 9051 §6.4.4) as decoded at delivery: the
// stored structure answers it without the message's header. An empty
// value asks whether the field is there, which the header answers.
func envelopeSubject(k *imapwire.SearchKey) bool {
	return k.Envelope && k.Field == "SUBJECT" && k.Value != ""
}

// containsFold reports whether needle is in hay, case-insensitively.
func containsFold(hay, needle string) bool {
	if needle == "" {
		return true
	}
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
}
