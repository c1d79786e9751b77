package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailhouse/internal/store"
)

// store.Queue (migration 0003). Leases are columns of the queue row.
// QueueLease picks due rows with the dialect's SkipLocked, so two
// PostgreSQL nodes leasing at once take different entries and never wait
// for each other (SQLite's single writer is exclusive by itself);
// QueueFinish checks the owner under the row lock (ForUpdate), so a node
// whose lease ran out (and was taken over) cannot record an outcome
// twice.

var _ store.Queue = (*Core)(nil)

// maxQueueRecipients bounds one entry's recipients (the SMTP server
// already limits a message's).
const maxQueueRecipients = 10000

// QueueAdd implements store.Queue.
func (s *Core) QueueAdd(ctx context.Context, e store.NewQueueEntry) (store.QueueEntry, error) {
	var out store.QueueEntry
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = queueInsert(w, e, time.Now())
		return err
	})
	return out, err
}

// queueInsert adds one entry inside a write transaction.
func queueInsert(w *wtx, e store.NewQueueEntry, now time.Time) (store.QueueEntry, error) {
	if len(e.To) == 0 || len(e.To) > maxQueueRecipients {
		return store.QueueEntry{}, fmt.Errorf("queue: %d recipients: %w", len(e.To), store.ErrNotAllowed)
	}
	next := e.NextAttempt
	if next.IsZero() {
		next = now
	}
	data := e.Data
	if data == nil {
		data = []byte{} // NOT NULL
	}
	id, err := w.insert(`INSERT INTO queue (from_addr, data, size, created, next_attempt) VALUES (?, ?, ?, ?, ?)`,
		e.From, data, len(data), unixNano(now), unixNano(next))
	if err != nil {
		return store.QueueEntry{}, err
	}
	out := store.QueueEntry{
		ID: store.QueueID(id), From: e.From, Size: int64(len(e.Data)),
		Created: fromUnixNano(unixNano(now)), NextAttempt: fromUnixNano(unixNano(next)),
	}
	for i, to := range e.To {
		if _, err := w.exec(`INSERT INTO queue_rcpts (queue_id, position, address, status, updated) VALUES (?, ?, ?, ?, ?)`,
			id, i, to, store.RcptPending, unixNano(now)); err != nil {
			return store.QueueEntry{}, err
		}
		out.Recipients = append(out.Recipients, store.QueueRecipient{Address: to, Status: store.RcptPending, Updated: out.Created})
	}
	return out, nil
}

// QueueLease implements store.Queue.
func (s *Core) QueueLease(ctx context.Context, r store.LeaseRequest) ([]store.QueueEntry, error) {
	if r.Owner == "" || r.For <= 0 || r.Limit <= 0 {
		return nil, fmt.Errorf("queue lease: owner, length and limit are required: %w", store.ErrNotAllowed)
	}
	now := unixNano(r.Now)
	var ids []int64
	err := s.write(ctx, func(w *wtx) error {
		ids = ids[:0]
		rows, err := w.query(`SELECT id FROM queue WHERE next_attempt <= ? AND lease_until <= ?
			ORDER BY next_attempt, id LIMIT ?`+w.s.d.SkipLocked, now, now, r.Limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := unixNano(r.Now.Add(r.For))
		for _, id := range ids {
			if _, err := w.exec(`UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id = ?`, r.Owner, until, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	out := make([]store.QueueEntry, 0, len(ids))
	for _, id := range ids {
		e, err := s.QueueGet(ctx, store.QueueID(id))
		if errors.Is(err, store.ErrNotFound) {
			continue // dropped meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// QueueRelease implements store.Queue.
func (s *Core) QueueRelease(ctx context.Context, prefix string) (int, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		var err error
		n, err = w.execN(`UPDATE queue SET lease_owner = '', lease_until = 0
			WHERE lease_owner <> '' AND substr(lease_owner, 1, ?) = ?`, len(prefix), prefix)
		return err
	})
	return int(n), err
}

// QueueData implements store.Queue.
func (s *Core) QueueData(ctx context.Context, id store.QueueID) ([]byte, error) {
	var data []byte
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow("SELECT data FROM queue WHERE id = ?", []any{id}, &data)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue entry %d: %w", id, store.ErrNotFound)
		}
		return err
	})
	return data, err
}

// QueueFinish implements store.Queue.
func (s *Core) QueueFinish(ctx context.Context, o store.QueueOutcome) error {
	now := time.Now()
	return s.write(ctx, func(w *wtx) error {
		var owner string
		err := w.queryRow("SELECT lease_owner FROM queue WHERE id = ?"+w.s.d.ForUpdate, []any{o.ID}, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue entry %d: %w", o.ID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if owner != o.Owner {
			return fmt.Errorf("queue entry %d: lease held by %q: %w", o.ID, owner, store.ErrLocked)
		}
		inc := 0
		if o.Counted {
			inc = 1
		}
		for _, r := range o.Recipients {
			if _, err := w.exec(`UPDATE queue_rcpts SET status = ?, last_error = ?, attempts = attempts + ?, updated = ?
				WHERE queue_id = ? AND address = ? AND status = ?`,
				r.Status, r.Error, inc, unixNano(now), o.ID, r.Address, store.RcptPending); err != nil {
				return err
			}
		}
		for _, rep := range o.Reports {
			if _, err := queueInsert(w, rep, now); err != nil {
				return err
			}
		}
		var pending int
		if err := w.queryRow("SELECT count(*) FROM queue_rcpts WHERE queue_id = ? AND status = ?",
			[]any{o.ID, store.RcptPending}, &pending); err != nil {
			return err
		}
		if pending == 0 {
			_, err := w.exec("DELETE FROM queue WHERE id = ?", o.ID)
			return err
		}
		next := o.NextAttempt
		if next.IsZero() {
			next = now
		}
		_, err = w.exec(`UPDATE queue SET next_attempt = ?, attempts = attempts + ?,
			last_error = CASE WHEN ? <> '' THEN ? ELSE last_error END,
			warned = warned OR ?, lease_owner = '', lease_until = 0 WHERE id = ?`,
			unixNano(next), inc, o.LastError, o.LastError, o.Warned, o.ID)
		return err
	})
}

const queueColumns = `SELECT id, from_addr, size, created, next_attempt, attempts, last_error, warned, lease_owner, lease_until FROM queue `

func scanQueueEntry(sc scanner) (store.QueueEntry, error) {
	var e store.QueueEntry
	var created, next, until int64
	err := sc.Scan(&e.ID, &e.From, &e.Size, &created, &next, &e.Attempts, &e.LastError, &e.Warned, &e.LeaseOwner, &until)
	e.Created, e.NextAttempt = fromUnixNano(created), fromUnixNano(next)
	if until > 0 {
		e.LeaseUntil = fromUnixNano(until)
	}
	return e, err
}

// queueRead reads entries (with their recipients) in one snapshot.
func (s *Core) queueRead(ctx context.Context, where string, args ...any) ([]store.QueueEntry, error) {
	var out []store.QueueEntry
	err := s.readTx(ctx, func(r reader) error {
		rows, err := r.query(queueColumns+where+" ORDER BY id", args...)
		if err != nil {
			return err
		}
		byID := map[store.QueueID]int{}
		for rows.Next() {
			e, err := scanQueueEntry(rows)
			if err != nil {
				rows.Close()
				return err
			}
			byID[e.ID] = len(out)
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(out) == 0 {
			return err
		}
		q := `SELECT queue_id, address, status, attempts, last_error, updated FROM queue_rcpts ORDER BY queue_id, position`
		var rargs []any
		if len(out) == 1 {
			q = `SELECT queue_id, address, status, attempts, last_error, updated FROM queue_rcpts WHERE queue_id = ? ORDER BY position`
			rargs = []any{out[0].ID}
		}
		rrows, err := r.query(q, rargs...)
		if err != nil {
			return err
		}
		defer rrows.Close()
		for rrows.Next() {
			var id store.QueueID
			var rc store.QueueRecipient
			var updated int64
			if err := rrows.Scan(&id, &rc.Address, &rc.Status, &rc.Attempts, &rc.LastError, &updated); err != nil {
				return err
			}
			rc.Updated = fromUnixNano(updated)
			if i, ok := byID[id]; ok {
				out[i].Recipients = append(out[i].Recipients, rc)
			}
		}
		return rrows.Err()
	})
	return out, err
}

// QueueGet implements store.Queue.
func (s *Core) QueueGet(ctx context.Context, id store.QueueID) (store.QueueEntry, error) {
	es, err := s.queueRead(ctx, "WHERE id = ?", id)
	if err != nil {
		return store.QueueEntry{}, err
	}
	if len(es) == 0 {
		return store.QueueEntry{}, fmt.Errorf("queue entry %d: %w", id, store.ErrNotFound)
	}
	return es[0], nil
}

// QueueList implements store.Queue.
func (s *Core) QueueList(ctx context.Context) ([]store.QueueEntry, error) {
	return s.queueRead(ctx, "")
}

// QueueRetry implements store.Queue.
func (s *Core) QueueRetry(ctx context.Context, id store.QueueID, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if id == 0 {
			n, err = w.execN("UPDATE queue SET next_attempt = ? WHERE next_attempt > ?", unixNano(now), unixNano(now))
			return err
		}
		n, err = w.execN("UPDATE queue SET next_attempt = "+w.s.d.Least+"(next_attempt, ?) WHERE id = ?", unixNano(now), id)
		if err == nil && n == 0 {
			err = fmt.Errorf("queue entry %d: %w", id, store.ErrNotFound)
		}
		return err
	})
	return int(n), err
}

// QueueDrop implements store.Queue.
func (s *Core) QueueDrop(ctx context.Context, id store.QueueID, reports []store.NewQueueEntry) (store.QueueEntry, error) {
	e, err := s.QueueGet(ctx, id)
	if err != nil {
		return e, err
	}
	err = s.write(ctx, func(w *wtx) error {
		n, err := w.execN("DELETE FROM queue WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("queue entry %d: %w", id, store.ErrNotFound)
		}
		now := time.Now()
		for _, rep := range reports {
			if _, err := queueInsert(w, rep, now); err != nil {
				return err
			}
		}
		return nil
	})
	return e, err
}

// QueueNextDue implements store.Queue.
func (s *Core) QueueNextDue(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	err := s.read(ctx, func(r reader) error {
		return r.queryRow("SELECT min("+s.d.Greatest+"(next_attempt, lease_until)) FROM queue", nil, &next)
	})
	if err != nil || next == nil {
		return time.Time{}, false, err
	}
	return fromUnixNano(*next), true, nil
}

// checkSelector accepts a DKIM selector: dot-separated DNS labels.
func checkSelector(sel string) error {
	if sel == "" || len(sel) > 63 || strings.Trim(sel, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" {
		return fmt.Errorf("dkim selector %q: %w", sel, store.ErrNotAllowed)
	}
	return nil
}
