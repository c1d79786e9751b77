package pgstore

import (
	"context"
	"fmt"

	"mailhouse/internal/store"
)

const (
	batchColumns  = `SELECT m.uid, m.modseq, m.flags, m.internal_date, m.internal_tz, m.size, length(m.prefix)`
	batchWhere    = ` WHERE m.mailbox_id = ? AND m.uid = ANY(?) ORDER BY m.uid`
	batchMeta     = batchColumns + ` FROM messages m` + batchWhere
	batchParsed   = batchColumns + `, b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id` + batchWhere
	batchWithBody = batchColumns + `, b.parsed, m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id` + batchWhere
)

// ReadBatch implements store.BatchReader in one statement (one
// snapshot).
func (s *Store) ReadBatch(ctx context.Context, mailbox store.MailboxID, uids []store.UID, parts store.BatchParts) ([]store.StoredMessage, error) {
	if len(uids) > store.MaxBatch {
		return nil, fmt.Errorf("pgstore: batch of %d UIDs, more than %d", len(uids), store.MaxBatch)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	list := make([]int64, len(uids))
	for i, u := range uids {
		list[i] = int64(u)
	}
	q := batchMeta
	switch {
	case parts&store.BatchBody != 0:
		q = batchWithBody
	case parts&store.BatchParsed != 0:
		q = batchParsed
	}
	out := make([]store.StoredMessage, 0, len(uids))
	err := s.read(ctx, func(r reader) error {
		rows, err := r.query(q, mailbox, list)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m store.StoredMessage
			var flags string
			var date int64
			var tz int
			var prefix, body []byte
			dest := []any{&m.Meta.UID, &m.Meta.ModSeq, &flags, &date, &tz, &m.Meta.Size, &m.Meta.PrefixLen}
			switch q {
			case batchParsed:
				dest = append(dest, &m.Parsed)
			case batchWithBody:
				dest = append(dest, &m.Parsed, &prefix, &body)
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			m.Meta.Mailbox = mailbox
			m.Meta.Flags = splitFlags(flags)
			m.Meta.InternalDate = fromStoredTime(date, tz)
			if q == batchWithBody {
				m.Message = make([]byte, 0, len(prefix)+len(body))
				m.Message = append(append(m.Message, prefix...), body...)
			}
			if parts&store.BatchParsed == 0 {
				m.Parsed = nil
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading messages of mailbox #%d: %w", mailbox, err)
	}
	return out, nil
}
