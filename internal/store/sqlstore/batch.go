package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"mailhouse/internal/store"
)

// The UIDs travel as one JSON array parameter, so that each query has
// one text (one cached prepared statement) whatever the number of UIDs.
// The statements run outside any transaction: one statement is one
// snapshot, and only statements run so are kept prepared (read.go).
const (
	batchColumns  = `SELECT m.uid, m.modseq, m.flags, m.internal_date, m.internal_tz, m.size, length(m.prefix)`
	batchWhere    = ` WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid`
	batchMeta     = batchColumns + ` FROM messages m` + batchWhere
	batchParsed   = batchColumns + `, b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id` + batchWhere
	batchWithBody = batchColumns + `, b.parsed, m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id` + batchWhere
)

// ReadBatch implements store.BatchReader in one statement.
func (s *Store) ReadBatch(ctx context.Context, mailbox store.MailboxID, uids []store.UID, parts store.BatchParts) ([]store.StoredMessage, error) {
	if len(uids) > store.MaxBatch {
		return nil, fmt.Errorf("sqlstore: batch of %d UIDs, more than %d", len(uids), store.MaxBatch)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	list := make([]byte, 0, 2+8*len(uids))
	list = append(list, '[')
	for i, u := range uids {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendUint(list, uint64(u), 10)
	}
	list = append(list, ']')
	q := batchMeta
	switch {
	case parts&store.BatchBody != 0:
		q = batchWithBody
	case parts&store.BatchParsed != 0:
		q = batchParsed
	}
	out := make([]store.StoredMessage, 0, len(uids))
	err := s.read(ctx, func(r reader) error {
		rows, err := r.query(q, mailbox, string(list))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m store.StoredMessage
			var flags string
			var date int64
			var tz int
			var prefix, body sql.RawBytes
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
		return nil, fmt.Errorf("sqlstore: reading messages of mailbox #%d: %w", mailbox, err)
	}
	return out, nil
}
