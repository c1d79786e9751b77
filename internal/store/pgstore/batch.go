package pgstore

import (
	"context"
	"fmt"

	"mailhouse/internal/store"
)

const (
	batchParsedQuery = `SELECT m.uid, b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.mailbox_id = ? AND m.uid = ANY(?) ORDER BY m.uid`
	batchBodyQuery = `SELECT m.uid, b.parsed, m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.mailbox_id = ? AND m.uid = ANY(?) ORDER BY m.uid`
)

// ReadBatch implements store.BatchReader in one statement (one
// snapshot).
func (s *Store) ReadBatch(ctx context.Context, mailbox store.MailboxID, uids []store.UID, withBody bool) ([]store.StoredMessage, error) {
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
	q := batchParsedQuery
	if withBody {
		q = batchBodyQuery
	}
	var out []store.StoredMessage
	err := s.read(ctx, func(r reader) error {
		rows, err := r.query(q, int64(mailbox), list)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m store.StoredMessage
			var uid int64
			if !withBody {
				if err := rows.Scan(&uid, &m.Parsed); err != nil {
					return err
				}
				m.UID = store.UID(uid)
				out = append(out, m)
				continue
			}
			var prefix, body []byte
			if err := rows.Scan(&uid, &m.Parsed, &prefix, &body); err != nil {
				return err
			}
			m.UID = store.UID(uid)
			m.Message = make([]byte, 0, len(prefix)+len(body))
			m.Message = append(append(m.Message, prefix...), body...)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading messages of mailbox #%d: %w", mailbox, err)
	}
	return out, nil
}
