package sqlcore

import (
	"context"

	"mailhouse/internal/store"
)

// Stats implements store.Ops: per-account figures and the queue's from
// one snapshot, and the store's size on disk from the Dialect.
func (s *Core) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.readTx(ctx, func(r reader) error {
		err := r.rows(`SELECT a.address, CAST(coalesce(sum(mb.message_count), 0) AS BIGINT), CAST(coalesce(sum(mb.message_bytes), 0) AS BIGINT)
			FROM accounts a LEFT JOIN mailboxes mb ON mb.account_id = a.id
			GROUP BY a.id, a.address ORDER BY a.address`, func(rows Rows) error {
			var a store.AccountStats
			if err := rows.Scan(&a.Address, &a.Messages, &a.Bytes); err != nil {
				return err
			}
			st.Accounts = append(st.Accounts, a)
			return nil
		})
		if err != nil {
			return err
		}
		var oldest *int64
		if err := r.queryRow("SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT), min(created) FROM queue", nil,
			&st.QueueEntries, &st.QueueBytes, &oldest); err != nil {
			return err
		}
		if oldest != nil {
			st.QueueOldest = fromUnixNano(*oldest)
		}
		if s.d.StoreBytes != nil {
			st.StoreBytes, err = s.d.StoreBytes(ctx, r.Querier)
		}
		return err
	})
	return st, err
}
