package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"mailhouse/internal/store"
)

// store.Ops on PostgreSQL: Stats for metrics, Check (read-only: every
// finding is reported, none repaired), and no Backup of its own.

var _ store.Ops = (*Store)(nil)

// Backup implements store.Ops: it refuses. A PostgreSQL store is backed
// up with the database's own tools (pg_dump, or base backups and WAL
// archiving), which see every node's writes.
func (s *Store) Backup(ctx context.Context, path string) (store.BackupInfo, error) {
	return store.BackupInfo{}, fmt.Errorf("a PostgreSQL store is backed up with pg_dump or the cluster's base backups, not by mailhouse: %w", store.ErrNotAllowed)
}

// Stats implements store.Ops.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	err := s.readTx(ctx, func(r reader) error {
		rows, err := r.query(`SELECT a.address, coalesce(sum(mb.message_count), 0)::bigint, coalesce(sum(mb.message_bytes), 0)::bigint
			FROM accounts a LEFT JOIN mailboxes mb ON mb.account_id = a.id
			GROUP BY a.id ORDER BY a.address`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a store.AccountStats
			if err := rows.Scan(&a.Address, &a.Messages, &a.Bytes); err != nil {
				rows.Close()
				return err
			}
			st.Accounts = append(st.Accounts, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var oldest *int64
		if err := r.queryRow("SELECT count(*), coalesce(sum(size), 0)::bigint, min(created) FROM queue", nil,
			&st.QueueEntries, &st.QueueBytes, &oldest); err != nil {
			return err
		}
		if oldest != nil {
			st.QueueOldest = fromUnixNano(*oldest)
		}
		// The database's size on disk (the nodes have no store files).
		return r.queryRow("SELECT pg_database_size(current_database())", nil, &st.StoreBytes)
	})
	return st, err
}

// Check implements store.Ops. It runs in one snapshot and only reads:
// with Repair it reports the same problems, none marked repairable.
// PostgreSQL checks its own pages (data checksums, amcheck); the checks
// here are of mailhouse's invariants.
func (s *Store) Check(ctx context.Context, o store.CheckOptions) (store.CheckReport, error) {
	var rep store.CheckReport
	err := s.readTx(ctx, func(r reader) error {
		steps := []struct {
			name string
			run  func(reader, *store.CheckReport) error
		}{
			{"counts", checkCounts},
			{"bodies", checkBodies},
			{"messages", checkMessages},
			{"mailboxes", checkMailboxes},
			{"expunged", checkExpunged},
		}
		for _, st := range steps {
			if err := st.run(r, &rep); err != nil {
				return fmt.Errorf("check %s: %w", st.name, err)
			}
			rep.Checked = append(rep.Checked, st.name)
		}
		return nil
	})
	return rep, err
}

func checkCounts(r reader, rep *store.CheckReport) error {
	n := &rep.Counts
	return r.queryRow(`SELECT
		(SELECT count(*) FROM domains), (SELECT count(*) FROM accounts), (SELECT count(*) FROM aliases),
		(SELECT count(*) FROM mailboxes), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM bodies), (SELECT coalesce(sum(length(data)), 0)::bigint FROM bodies),
		(SELECT count(*) FROM queue), (SELECT coalesce(max(version), 0) FROM schema_version)`, nil,
		&n.Domains, &n.Accounts, &n.Aliases, &n.Mailboxes, &n.Messages, &n.Bodies, &n.BodyBytes,
		&n.QueueEntries, &n.SchemaVersion)
}

// eachRow runs q and calls fn with each row.
func eachRow(r reader, q string, fn func(pgx.Rows) error, args ...any) error {
	rows, err := r.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func checkBodies(r reader, rep *store.CheckReport) error {
	return eachRow(r, `SELECT b.id, b.size, length(b.data), EXISTS (SELECT 1 FROM messages m WHERE m.body_id = b.id)
		FROM bodies b WHERE b.size <> length(b.data) OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.body_id = b.id)
		ORDER BY b.id`, func(row pgx.Rows) error {
		var id, size, real int64
		var used bool
		if err := row.Scan(&id, &size, &real, &used); err != nil {
			return err
		}
		where := fmt.Sprintf("body %d", id)
		if size != real {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemBodySize, Where: where,
				Detail: fmt.Sprintf("recorded %d bytes, holds %d", size, real)})
		}
		if !used {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemOrphanBody, Where: where,
				Detail: "no message uses it"})
		}
		return nil
	})
}

func checkMessages(r reader, rep *store.CheckReport) error {
	return eachRow(r, `SELECT a.address || '/' || mb.name, m.uid, m.size, length(m.prefix), b.size
		FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id JOIN accounts a ON a.id = mb.account_id
		LEFT JOIN bodies b ON b.id = m.body_id
		WHERE b.id IS NULL OR m.size <> length(m.prefix) + b.size
		ORDER BY m.mailbox_id, m.uid`, func(row pgx.Rows) error {
		var name string
		var uid, size, prefix int64
		var body *int64
		if err := row.Scan(&name, &uid, &size, &prefix, &body); err != nil {
			return err
		}
		where := fmt.Sprintf("message %s UID %d", name, uid)
		if body == nil {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemBodyMissing, Where: where, Detail: "its body is gone"})
			return nil
		}
		rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemMessageSize, Where: where,
			Detail: fmt.Sprintf("size %d, but prefix %d + body %d", size, prefix, *body)})
		return nil
	})
}

func checkMailboxes(r reader, rep *store.CheckReport) error {
	return eachRow(r, `SELECT mb.id, a.address || '/' || mb.name, mb.message_count, mb.message_bytes, mb.unseen_count,
			count(m.uid), coalesce(sum(m.size), 0)::bigint, coalesce(sum(mh_unseen(m.flags)), 0)::bigint,
			mb.uidnext, coalesce(max(m.uid), 0)::bigint, mb.highestmodseq, coalesce(max(m.modseq), 0)::bigint
		FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id
		LEFT JOIN messages m ON m.mailbox_id = mb.id
		GROUP BY mb.id, a.address ORDER BY mb.id`, func(row pgx.Rows) error {
		var id int64
		var name string
		var count, bytes, unseen, realCount, realBytes, realUnseen, uidnext, maxUID, hms, maxMS int64
		if err := row.Scan(&id, &name, &count, &bytes, &unseen, &realCount, &realBytes, &realUnseen,
			&uidnext, &maxUID, &hms, &maxMS); err != nil {
			return err
		}
		where := fmt.Sprintf("mailbox %d (%s)", id, name)
		if count != realCount || bytes != realBytes || unseen != realUnseen {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemCounters, Where: where,
				Detail: fmt.Sprintf("counted %d messages, %d bytes, %d unseen; holds %d, %d, %d",
					count, bytes, unseen, realCount, realBytes, realUnseen)})
		}
		if uidnext <= maxUID {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemUIDNext, Where: where,
				Detail: fmt.Sprintf("UIDNEXT %d but a message has UID %d", uidnext, maxUID)})
		}
		if hms < maxMS {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemModSeq, Where: where,
				Detail: fmt.Sprintf("HIGHESTMODSEQ %d but a message has modseq %d", hms, maxMS)})
		}
		return nil
	})
}

// checkExpunged: the expunge history's counter, and that neither UIDNEXT
// nor HIGHESTMODSEQ is at or below a recorded expunge (a UID must never
// be reused).
func checkExpunged(r reader, rep *store.CheckReport) error {
	return eachRow(r, `SELECT mb.id, a.address || '/' || mb.name, mb.expunged_count, mb.uidnext, mb.highestmodseq,
			count(e.uid), coalesce(max(e.uid), 0)::bigint, coalesce(max(e.modseq), 0)::bigint
		FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id
		LEFT JOIN expunged e ON e.mailbox_id = mb.id
		GROUP BY mb.id, a.address ORDER BY mb.id`, func(row pgx.Rows) error {
		var id int64
		var name string
		var count, uidnext, hms, realCount, maxUID, maxMS int64
		if err := row.Scan(&id, &name, &count, &uidnext, &hms, &realCount, &maxUID, &maxMS); err != nil {
			return err
		}
		where := fmt.Sprintf("mailbox %d (%s)", id, name)
		if count != realCount {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemExpungedList, Where: where,
				Detail: fmt.Sprintf("counted %d expunge records, holds %d", count, realCount)})
		}
		if uidnext <= maxUID {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemUIDNext, Where: where,
				Detail: fmt.Sprintf("UIDNEXT %d but UID %d was expunged", uidnext, maxUID)})
		}
		if hms < maxMS {
			rep.Problems = append(rep.Problems, store.Problem{Kind: store.ProblemModSeq, Where: where,
				Detail: fmt.Sprintf("HIGHESTMODSEQ %d but an expunge has modseq %d", hms, maxMS)})
		}
		return nil
	})
}
