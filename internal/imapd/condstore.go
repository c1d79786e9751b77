package imapd

import (
	"slices"
	"strconv"
	"strings"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// CONDSTORE and QRESYNC (RFC 7162): modseqs in FETCH, STORE, SEARCH and
// STATUS, and quick resynchronisation on SELECT.
//
// The store gives every message a modseq and every mailbox a
// HIGHESTMODSEQ, and remembers expunged UIDs with the modseq of their
// expunge for a bounded time (store.Changes.ExpungedIncomplete says when
// a client asks about older changes; sqlstore keeps the newest 10,000
// expunges of a mailbox for at most 90 days). Beyond that horizon,
// VANISHED (EARLIER) reports every UID the client may know that is no
// longer there, which RFC 7162 §3.2.5.2 allows.

// maxSeqMatch bounds the sequence-number/UID pairs of QRESYNC's
// seq-match-data that are looked at; clients send a handful.
const maxSeqMatch = 10_000

// enableCondstore turns CONDSTORE on for the session (RFC 7162 §3.1: any
// CONDSTORE-enabling command does). With a mailbox selected, the client
// learns its HIGHESTMODSEQ at once, as after SELECT (CONDSTORE).
func (s *session) enableCondstore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if s.sel != nil {
		s.writef("* OK [HIGHESTMODSEQ %d] highest modseq\r\n", s.sel.reported)
	}
}

// qresyncSelect sends what changed since the state the client gave in
// SELECT/EXAMINE (QRESYNC (...)), RFC 7162 §3.2.5: one VANISHED
// (EARLIER) with the UIDs expunged since, then a FETCH (UID FLAGS
// MODSEQ) for every message changed since. A different UIDVALIDITY means
// the client's cache is void: nothing is sent.
func (s *session) qresyncSelect(q *imapwire.QResync) error {
	sel := s.sel
	if q.UIDValidity != sel.mb.UIDValidity {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	ch, err := s.srv.o.Store.Changes(ctx, sel.mb.ID, store.ModSeq(q.ModSeq))
	if err != nil {
		return s.storeError(err, "SELECT")
	}
	star := sel.maxUID()
	known := q.KnownUIDs
	if !q.HasKnownUIDs {
		known = imapwire.SeqSet{Ranges: []imapwire.Range{{Start: 1, Stop: imapwire.Star}}}
	}
	var gone []imapwire.Range
	if ch.ExpungedIncomplete {
		// The history does not reach back to the client's modseq: report
		// every known UID that is not here, above the point where the
		// client's sequence numbers still match ours.
		from := uint32(1)
		if q.HasSeqMatch {
			from = sel.seqMatchFloor(q.SeqMatchSeqs, q.SeqMatchUIDs)
		}
		gone = absentRanges(known, star, sel.uids, from)
	} else {
		var uids []uint32
		for _, u := range ch.Expunged {
			// A UID still in the view was expunged after it was read: it
			// is reported as VANISHED (without EARLIER) by the next sync.
			if known.Contains(uint32(u), star) && sel.seqOf(u) == 0 {
				uids = append(uids, uint32(u))
			}
		}
		gone = toRanges(uids)
	}
	if len(gone) > 0 {
		s.writeString("* VANISHED (EARLIER) " + formatRanges(gone) + "\r\n")
	}
	var b []byte
	for _, m := range ch.Messages {
		seq := sel.seqOf(m.UID)
		if seq == 0 || !known.Contains(uint32(m.UID), star) {
			continue
		}
		b = s.appendFlagsFetch(b[:0], seq, m, true)
		s.writeBytes(b)
	}
	return nil
}

// maxUID is the highest UID a client may know of: "*" in the UID sets of
// QRESYNC, which may name expunged messages.
func (sel *selected) maxUID() uint32 {
	m := uint32(sel.lastUID())
	if sel.mb.UIDNext > 1 {
		m = max(m, uint32(sel.mb.UIDNext-1))
	}
	return m
}

// seqMatchFloor returns the lowest UID that may have vanished, from
// QRESYNC's seq-match-data (RFC 7162 §3.2.5.2): when the client's
// sequence number n still names the same UID u here, the client and we
// agree on the messages below u (UIDs only grow, so none can have been
// added below u, and the counts match), so only UIDs above u may be
// gone.
func (sel *selected) seqMatchFloor(seqs, uids imapwire.SeqSet) uint32 {
	ss := expand(seqs, uint32(len(sel.uids)), maxSeqMatch)
	us := expand(uids, uint32(sel.lastUID()), maxSeqMatch)
	floor := uint32(1)
	for i := 0; i < len(ss) && i < len(us); i++ {
		n, u := ss[i], us[i]
		if n >= 1 && int(n) <= len(sel.uids) && uint32(sel.uids[n-1]) == u && u+1 > floor {
			floor = u + 1
		}
	}
	return floor
}

// expand lists the numbers of a set in the order given, up to limit.
func expand(set imapwire.SeqSet, star uint32, limit int) []uint32 {
	var out []uint32
	for _, r := range set.Resolve(star) {
		for n := r.Start; n <= r.Stop && len(out) < limit; n++ {
			out = append(out, n)
			if n == r.Stop {
				break
			}
		}
	}
	return out
}

// absentRanges returns the numbers of set ("*" standing for star), at or
// above from, that are not in uids (ascending). It takes time in the
// number of ranges and UIDs, not in the size of the ranges.
func absentRanges(set imapwire.SeqSet, star uint32, uids []store.UID, from uint32) []imapwire.Range {
	var out []imapwire.Range
	for _, r := range set.Resolve(star) {
		lo, hi := max(r.Start, from, 1), r.Stop
		if lo > hi {
			continue
		}
		i, _ := slices.BinarySearch(uids, store.UID(lo))
		next := lo
		for ; i < len(uids) && uint32(uids[i]) <= hi; i++ {
			if u := uint32(uids[i]); u > next {
				out = append(out, imapwire.Range{Start: next, Stop: u - 1})
			}
			next = uint32(uids[i]) + 1
			if next == 0 { // wrapped past 2^32-1
				break
			}
		}
		if next != 0 && next <= hi {
			out = append(out, imapwire.Range{Start: next, Stop: hi})
		}
	}
	return mergeRanges(out)
}

// mergeRanges sorts ranges and joins those that overlap or touch.
func mergeRanges(rs []imapwire.Range) []imapwire.Range {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b imapwire.Range) int { return int(int64(a.Start) - int64(b.Start)) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if uint64(r.Start) <= uint64(last.Stop)+1 {
			last.Stop = max(last.Stop, r.Stop)
			continue
		}
		out = append(out, r)
	}
	return out
}

// toRanges turns ascending numbers into ranges.
func toRanges(nums []uint32) []imapwire.Range {
	var out []imapwire.Range
	for _, n := range nums {
		if k := len(out); k > 0 && out[k-1].Stop+1 == n {
			out[k-1].Stop = n
			continue
		}
		out = append(out, imapwire.Range{Start: n, Stop: n})
	}
	return out
}

// formatRanges writes ranges as a sequence set: "1:3,7".
func formatRanges(rs []imapwire.Range) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(r.Start), 10))
		if r.Stop != r.Start {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(r.Stop), 10))
		}
	}
	return b.String()
}

// fetchVanished sends UID FETCH's VANISHED (EARLIER) (RFC 7162 §3.2.6):
// the UIDs of the set expunged since the CHANGEDSINCE modseq.
func (s *session) fetchVanished(set imapwire.SeqSet, ch store.Changes) {
	sel := s.sel
	star := sel.maxUID()
	for _, u := range ch.Expunged {
		star = max(star, uint32(u))
	}
	var gone []imapwire.Range
	if ch.ExpungedIncomplete {
		gone = absentRanges(set, star, sel.uids, 1)
	} else {
		var uids []uint32
		for _, u := range ch.Expunged {
			if set.Contains(uint32(u), star) && sel.seqOf(u) == 0 {
				uids = append(uids, uint32(u))
			}
		}
		gone = toRanges(uids)
	}
	if len(gone) > 0 {
		s.writeString("* VANISHED (EARLIER) " + formatRanges(gone) + "\r\n")
	}
}
