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
const (
	batchParsedQuery = `SELECT m.uid, b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid`
	batchBodyQuery = `SELECT m.uid, b.parsed, m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid`
)

// ReadBatch implements store.BatchReader in one statement (one
// snapshot).
func (s *Store) ReadBatch(ctx context.Context, mailbox store.MailboxID, uids []store.UID, withBody bool) ([]store.StoredMessage, error) {
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
	q := batchParsedQuery
	if withBody {
		q = batchBodyQuery
	}
	var out []store.StoredMessage
	err := s.read(ctx, func(r reader) error {
		rows, err := r.query(q, mailbox, string(list))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m store.StoredMessage
			if !withBody {
				if err := rows.Scan(&m.UID, &m.Parsed); err != nil {
					return err
				}
				out = append(out, m)
				continue
			}
			var prefix, body sql.RawBytes
			if err := rows.Scan(&m.UID, &m.Parsed, &prefix, &body); err != nil {
				return err
			}
			m.Message = make([]byte, 0, len(prefix)+len(body))
			m.Message = append(append(m.Message, prefix...), body...)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading messages of mailbox #%d: %w", mailbox, err)
	}
	return out, nil
}
