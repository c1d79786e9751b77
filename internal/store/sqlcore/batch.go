package sqlcore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"mailhouse/internal/store"
)

// A set of UIDs dense in its range (a FETCH window, a SEARCH of a whole
// mailbox, one message) is read as that range, rows outside the set
// being skipped here; a sparse one travels as one JSON array parameter.
// Either way each query has one text (one cached prepared statement)
// whatever the number of UIDs. The statements run outside any
// transaction: one statement is one snapshot.
const (
	batchColumns = `SELECT m.uid, m.modseq, m.flags, m.internal_date, m.internal_tz, m.size, length(m.prefix)`
	batchRange   = ` WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`
	batchJoin    = `, b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id`
	batchJoinAll = `, b.parsed, m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id`
)

// batchKind is what a batch statement returns beside the metadata.
type batchKind int

const (
	batchMeta batchKind = iota
	batchParsed
	batchBody
)

// batchQuery returns the statement for kind and form (range or list).
func (s *Core) batchQuery(kind batchKind, list bool) string {
	where := batchRange
	if list {
		where = ` WHERE m.mailbox_id = ? AND m.uid IN (` + s.d.IntsFromJSON + `) ORDER BY m.uid`
	}
	switch kind {
	case batchParsed:
		return batchColumns + batchJoin + where
	case batchBody:
		return batchColumns + batchJoinAll + where
	}
	return batchColumns + ` FROM messages m` + where
}

// ReadBatch implements store.BatchReader in one statement.
func (s *Core) ReadBatch(ctx context.Context, mailbox store.MailboxID, uids []store.UID, parts store.BatchParts) ([]store.StoredMessage, error) {
	if len(uids) > store.MaxBatch {
		return nil, fmt.Errorf("%s: batch of %d UIDs, more than %d", s.d.Name, len(uids), store.MaxBatch)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	set := slices.Clone(uids)
	slices.Sort(set)
	set = slices.Compact(set)
	lo, hi := set[0], set[len(set)-1]
	kind := batchMeta
	switch {
	case parts&store.BatchBody != 0:
		kind = batchBody
	case parts&store.BatchParsed != 0:
		kind = batchParsed
	}
	var q string
	var args []any
	if uint64(hi-lo) < 2*uint64(len(set))+8 {
		q, args = s.batchQuery(kind, false), []any{mailbox, lo, hi}
	} else {
		list := make([]byte, 0, 2+8*len(set))
		list = append(list, '[')
		for i, u := range set {
			if i > 0 {
				list = append(list, ',')
			}
			list = strconv.AppendUint(list, uint64(u), 10)
		}
		list = append(list, ']')
		q, args = s.batchQuery(kind, true), []any{mailbox, string(list)}
		set = nil // every row is wanted
	}
	out := make([]store.StoredMessage, 0, len(uids))
	// One set of scan targets for every row, and each distinct flags
	// value and zone split or built once: a mailbox has few of either,
	// and this loop runs for every message a FETCH or SEARCH reads.
	var m store.StoredMessage
	var flags string
	var date int64
	var tz int
	var parsed, prefix, body []byte
	dest := []any{&m.Meta.UID, &m.Meta.ModSeq, &flags, &date, &tz, &m.Meta.Size, &m.Meta.PrefixLen}
	switch kind {
	case batchParsed:
		dest = append(dest, &parsed)
	case batchBody:
		dest = append(dest, &parsed, &prefix, &body)
	}
	var dec rowDecoder
	err := s.read(ctx, func(r reader) error {
		return r.rows(q, func(rows Rows) error {
			parsed, prefix, body = nil, nil, nil
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			if set != nil {
				// A range read: skip the UIDs not asked for.
				if _, ok := slices.BinarySearch(set, m.Meta.UID); !ok {
					return nil
				}
			}
			m.Meta.Mailbox = mailbox
			m.Meta.Flags = dec.flags(flags)
			m.Meta.InternalDate = dec.time(date, tz)
			m.Parsed, m.Message = nil, nil
			if parts&store.BatchParsed != 0 {
				m.Parsed = parsed
			}
			if kind == batchBody {
				m.Message = make([]byte, 0, len(prefix)+len(body))
				m.Message = append(append(m.Message, prefix...), body...)
			}
			out = append(out, m)
			return nil
		}, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: reading messages of mailbox #%d: %w", s.d.Name, mailbox, err)
	}
	return out, nil
}

// rowDecoder turns stored flags and dates into their Go forms, sharing
// what repeats between the rows of one result: the split flags of each
// distinct stored value (callers never change a Flags slice in place:
// applyFlags and the protocol code copy before changing) and the zone
// of each offset.
type rowDecoder struct {
	sets  map[string][]string
	zones map[int]*time.Location
}

// maxSharedFlagSets bounds the distinct flags values one decoder keeps.
const maxSharedFlagSets = 64

func (d *rowDecoder) flags(stored string) []string {
	if stored == "" {
		return nil
	}
	if f, ok := d.sets[stored]; ok {
		return f
	}
	f := splitFlags(stored)
	if d.sets == nil {
		d.sets = map[string][]string{}
	}
	if len(d.sets) < maxSharedFlagSets {
		d.sets[stored] = f[:len(f):len(f)]
	}
	return f
}

func (d *rowDecoder) time(nanos int64, tz int) time.Time {
	if tz == 0 {
		return time.Unix(0, nanos).UTC()
	}
	loc, ok := d.zones[tz]
	if !ok {
		if d.zones == nil {
			d.zones = map[int]*time.Location{}
		}
		loc = time.FixedZone("", tz)
		if len(d.zones) < maxSharedFlagSets {
			d.zones[tz] = loc
		}
	}
	return time.Unix(0, nanos).In(loc)
}
