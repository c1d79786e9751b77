package sqlcore

import (
	"context"
	"fmt"
	"strings"

	"mailhouse/internal/store"
)

// store.Ops: the consistency check and its repairs.
//
// The check reads one snapshot (a read transaction), so it is exact
// while the server delivers. Repairs run as one write through the
// backend's writer and recompute every value from the rows themselves inside
// that write, so a repair never writes a figure read earlier.

// maxListedPerKind bounds the problems listed of one kind; the rest are
// summed up in one more entry (repair still fixes all of them).
const maxListedPerKind = 50

// Checker runs the checks of one snapshot and accumulates their report.
// A Dialect's own CheckSteps use its Rows, One and Problem.
type Checker struct {
	ctx    context.Context
	q      Querier
	d      Dialect
	rep    store.CheckReport
	listed map[string]int
	// missing holds the mailboxes with messages whose body is gone: the
	// one repair that needs more than one statement.
	missing map[store.MailboxID]bool
}

// Problem adds p to the report, listing at most maxListedPerKind of a
// kind.
func (c *Checker) Problem(p store.Problem) {
	if c.listed == nil {
		c.listed = map[string]int{}
	}
	c.listed[p.Kind]++
	n := c.listed[p.Kind]
	switch {
	case n <= maxListedPerKind:
		c.rep.Problems = append(c.rep.Problems, p)
	case n == maxListedPerKind+1:
		p.Where, p.Detail = "more", "further problems of this kind are not listed"
		c.rep.Problems = append(c.rep.Problems, p)
	}
}

// Rows runs q and calls fn for each row.
func (c *Checker) Rows(q string, fn func(Rows) error, args ...any) error {
	if err := eachRow(c.q, q, fn, args...); err != nil {
		return fmt.Errorf("%s: %w", firstLine(q), err)
	}
	return nil
}

// One runs q and scans its one row into dest.
func (c *Checker) One(q string, dest ...any) error {
	if err := c.q.QueryRow(q, nil, dest...); err != nil {
		return fmt.Errorf("%s: %w", firstLine(q), err)
	}
	return nil
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	return q
}

// CheckQuerier runs every check of d on q, one snapshot (a read
// transaction of a live store, or of a file nothing writes), and returns
// the report. It never repairs.
func CheckQuerier(ctx context.Context, q Querier, d Dialect, o store.CheckOptions) (store.CheckReport, error) {
	c, err := runCheck(ctx, q, d, o)
	if err != nil {
		return store.CheckReport{}, err
	}
	return c.rep, nil
}

// runCheck runs every check on q.
func runCheck(ctx context.Context, q Querier, d Dialect, o store.CheckOptions) (*Checker, error) {
	c := &Checker{ctx: ctx, q: q, d: d, missing: map[store.MailboxID]bool{}}
	steps := []CheckStep{{Name: "counts", Run: (*Checker).counts}}
	steps = append(steps, d.Checks...)
	steps = append(steps, []CheckStep{
		{Name: "bodies", Run: (*Checker).bodies},
		{Name: "messages", Run: (*Checker).messages},
		{Name: "mailboxes", Run: (*Checker).mailboxes},
		{Name: "expunged", Run: (*Checker).expunged},
	}...)
	for _, s := range steps {
		if s.Slow && o.Quick {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.Run(c); err != nil {
			return nil, fmt.Errorf("check %s: %w", s.Name, err)
		}
		c.rep.Checked = append(c.rep.Checked, s.Name)
	}
	return c, nil
}

func (c *Checker) counts() error {
	n := &c.rep.Counts
	return c.One(`SELECT
		(SELECT count(*) FROM domains), (SELECT count(*) FROM accounts), (SELECT count(*) FROM aliases),
		(SELECT count(*) FROM mailboxes), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM bodies), (SELECT CAST(coalesce(sum(length(data)), 0) AS BIGINT) FROM bodies),
		(SELECT count(*) FROM queue), (SELECT coalesce(max(version), 0) FROM schema_version)`,
		&n.Domains, &n.Accounts, &n.Aliases, &n.Mailboxes, &n.Messages, &n.Bodies, &n.BodyBytes,
		&n.QueueEntries, &n.SchemaVersion)
}

func (c *Checker) bodies() error {
	err := c.Rows("SELECT id, size, length(data) FROM bodies WHERE size != length(data) ORDER BY id", func(r Rows) error {
		var id, size, actual int64
		if err := r.Scan(&id, &size, &actual); err != nil {
			return err
		}
		c.Problem(store.Problem{Kind: store.ProblemBodySize, Where: fmt.Sprintf("body %d", id),
			Detail: fmt.Sprintf("recorded size %d, holds %d bytes", size, actual), Repairable: true})
		return nil
	})
	if err != nil {
		return err
	}
	return c.Rows(`SELECT id, length(data) FROM bodies b
		WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.body_id = b.id) ORDER BY id`, func(r Rows) error {
		var id, size int64
		if err := r.Scan(&id, &size); err != nil {
			return err
		}
		c.Problem(store.Problem{Kind: store.ProblemOrphanBody, Where: fmt.Sprintf("body %d", id),
			Detail: fmt.Sprintf("%d bytes used by no message", size), Repairable: true})
		return nil
	})
}

// where names a message for a report.
const messageWhere = `SELECT a.address || '/' || mb.name FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id WHERE mb.id = m.mailbox_id`

func (c *Checker) messages() error {
	err := c.Rows(`SELECT m.mailbox_id, m.uid, m.body_id, coalesce((`+messageWhere+`), '?') FROM messages m
		WHERE NOT EXISTS (SELECT 1 FROM bodies b WHERE b.id = m.body_id) ORDER BY m.mailbox_id, m.uid`, func(r Rows) error {
		var mb store.MailboxID
		var uid UID
		var body int64
		var name string
		if err := r.Scan(&mb, &uid, &body, &name); err != nil {
			return err
		}
		c.missing[mb] = true
		c.Problem(store.Problem{Kind: store.ProblemBodyMissing, Where: fmt.Sprintf("message %s UID %d", name, uid),
			Detail: fmt.Sprintf("body %d is missing; repair expunges the message", body), Repairable: true})
		return nil
	})
	if err != nil {
		return err
	}
	return c.Rows(`SELECT m.mailbox_id, m.uid, m.size, length(m.prefix) + length(b.data), coalesce((`+messageWhere+`), '?')
		FROM messages m JOIN bodies b ON b.id = m.body_id
		WHERE m.size != length(m.prefix) + length(b.data) ORDER BY m.mailbox_id, m.uid`, func(r Rows) error {
		var mb store.MailboxID
		var uid UID
		var size, actual int64
		var name string
		if err := r.Scan(&mb, &uid, &size, &actual, &name); err != nil {
			return err
		}
		c.Problem(store.Problem{Kind: store.ProblemMessageSize, Where: fmt.Sprintf("message %s UID %d", name, uid),
			Detail: fmt.Sprintf("recorded size %d, is %d bytes", size, actual), Repairable: true})
		return nil
	})
}

// mailboxes compares each mailbox's counters, UIDNEXT and HIGHESTMODSEQ
// with its messages (RFC 9051 §2.3.1.1: UIDs only grow, so UIDNEXT must
// be above every UID; RFC 7162 §3.1.1: HIGHESTMODSEQ is at least every
// message's modseq).
func (c *Checker) mailboxes() error {
	return c.Rows(`SELECT mb.id, a.address || '/' || mb.name, mb.message_count, mb.message_bytes, mb.unseen_count,
			count(m.uid), CAST(coalesce(sum(m.size), 0) AS BIGINT), `+c.unseen("m.flags")+`,
			mb.uidnext, coalesce(max(m.uid), 0), mb.highestmodseq, coalesce(max(m.modseq), 0)
		FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id
		LEFT JOIN messages m ON m.mailbox_id = mb.id
		GROUP BY mb.id, a.address ORDER BY mb.id`, func(r Rows) error {
		var id int64
		var name string
		var count, bytes, unseen, realCount, realBytes, realUnseen, uidnext, maxUID, hms, maxMS int64
		if err := r.Scan(&id, &name, &count, &bytes, &unseen, &realCount, &realBytes, &realUnseen,
			&uidnext, &maxUID, &hms, &maxMS); err != nil {
			return err
		}
		where := fmt.Sprintf("mailbox %d (%s)", id, name)
		if count != realCount || bytes != realBytes || unseen != realUnseen {
			c.Problem(store.Problem{Kind: store.ProblemCounters, Where: where, Repairable: true,
				Detail: fmt.Sprintf("counted %d messages, %d bytes, %d unseen; holds %d, %d, %d",
					count, bytes, unseen, realCount, realBytes, realUnseen)})
		}
		if uidnext <= maxUID {
			c.Problem(store.Problem{Kind: store.ProblemUIDNext, Where: where, Repairable: true,
				Detail: fmt.Sprintf("UIDNEXT %d but a message has UID %d", uidnext, maxUID)})
		}
		if hms < maxMS {
			c.Problem(store.Problem{Kind: store.ProblemModSeq, Where: where, Repairable: true,
				Detail: fmt.Sprintf("HIGHESTMODSEQ %d but a message has modseq %d", hms, maxMS)})
		}
		return nil
	})
}

// expunged checks the expunge history against its mailbox: its counter,
// and that neither UIDNEXT nor HIGHESTMODSEQ went below a recorded
// expunge (a UID must never be reused).
func (c *Checker) expunged() error {
	return c.Rows(`SELECT mb.id, a.address || '/' || mb.name, mb.expunged_count, mb.uidnext, mb.highestmodseq,
			count(e.uid), coalesce(max(e.uid), 0), coalesce(max(e.modseq), 0)
		FROM mailboxes mb JOIN accounts a ON a.id = mb.account_id
		LEFT JOIN expunged e ON e.mailbox_id = mb.id
		GROUP BY mb.id, a.address ORDER BY mb.id`, func(r Rows) error {
		var id int64
		var name string
		var count, uidnext, hms, realCount, maxUID, maxMS int64
		if err := r.Scan(&id, &name, &count, &uidnext, &hms, &realCount, &maxUID, &maxMS); err != nil {
			return err
		}
		where := fmt.Sprintf("mailbox %d (%s)", id, name)
		if count != realCount {
			c.Problem(store.Problem{Kind: store.ProblemExpungedList, Where: where, Repairable: true,
				Detail: fmt.Sprintf("counted %d expunge records, holds %d", count, realCount)})
		}
		if uidnext <= maxUID {
			c.Problem(store.Problem{Kind: store.ProblemUIDNext, Where: where, Repairable: true,
				Detail: fmt.Sprintf("UIDNEXT %d but UID %d was expunged", uidnext, maxUID)})
		}
		if hms < maxMS {
			c.Problem(store.Problem{Kind: store.ProblemModSeq, Where: where, Repairable: true,
				Detail: fmt.Sprintf("HIGHESTMODSEQ %d but an expunge has modseq %d", hms, maxMS)})
		}
		return nil
	})
}

// Check implements store.Ops.
func (s *Core) Check(ctx context.Context, o store.CheckOptions) (store.CheckReport, error) {
	c, err := s.checkSnapshot(ctx, o)
	if err != nil || !o.Repair {
		return c.report(), err
	}
	repairable := false
	for _, p := range c.rep.Problems {
		repairable = repairable || p.Repairable
	}
	if !repairable {
		return c.rep, nil
	}
	if err := s.write(ctx, func(w *wtx) error { return w.repair(c.missing) }); err != nil {
		return c.rep, fmt.Errorf("repair: %w", err)
	}
	s.log.Warn(s.d.Name+": check repaired the store", "problems", len(c.rep.Problems))
	after, err := s.checkSnapshot(ctx, store.CheckOptions{Quick: true})
	if err != nil {
		return c.rep, fmt.Errorf("check after repair: %w", err)
	}
	left := map[string]bool{}
	for _, p := range after.rep.Problems {
		left[p.Kind+"\x00"+p.Where] = true
	}
	for i := range c.rep.Problems {
		p := &c.rep.Problems[i]
		p.Repaired = p.Repairable && !left[p.Kind+"\x00"+p.Where]
	}
	c.rep.Counts = after.rep.Counts
	return c.rep, nil
}

func (c *Checker) report() store.CheckReport {
	if c == nil {
		return store.CheckReport{}
	}
	return c.rep
}

// checkSnapshot runs the check on one read transaction of the live store.
func (s *Core) checkSnapshot(ctx context.Context, o store.CheckOptions) (*Checker, error) {
	var c *Checker
	err := s.b.ReadTx(ctx, func(q Querier) error {
		var err error
		c, err = runCheck(ctx, q, s.d, o)
		return err
	})
	return c, err
}

// unseen is the SQL counting the messages without \Seen among the rows
// whose flags column is col (0 when there are none).
func unseen(d Dialect, col string) string {
	return `CAST(coalesce(sum(CASE WHEN ` + d.Instr + `(' ' || ` + col + ` || ' ', ' \Seen ') = 0 THEN 1 ELSE 0 END), 0) AS BIGINT)`
}

func (c *Checker) unseen(col string) string { return unseen(c.d, col) }

// repair fixes every repairable problem, recomputing from the rows. The
// order matters: sizes before the counters that sum them.
func (w *wtx) repair(missing map[store.MailboxID]bool) error {
	// Messages whose body is gone cannot be read: expunge them properly
	// (expunge history, new modseq, event) so that clients drop them.
	for mb := range missing {
		// Read again inside the write: the snapshot may be stale.
		var still []UID
		rows, err := w.query(`SELECT uid FROM messages m WHERE mailbox_id = ?
			AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.id = m.body_id)`, mb)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u UID
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			still = append(still, u)
		}
		rows.Close()
		if len(still) > 0 {
			if _, err := w.expunge(mb, sortedUIDs(still)); err != nil {
				return err
			}
		}
	}
	d := w.s.d
	stmts := []string{
		`UPDATE bodies SET size = length(data) WHERE size != length(data)`,
		`DELETE FROM bodies WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.body_id = bodies.id)`,
		`UPDATE messages SET size = length(prefix) + (SELECT length(data) FROM bodies b WHERE b.id = messages.body_id)
			WHERE size != length(prefix) + (SELECT length(data) FROM bodies b WHERE b.id = messages.body_id)`,
		`UPDATE mailboxes SET
			message_count = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id),
			message_bytes = (SELECT CAST(coalesce(sum(size), 0) AS BIGINT) FROM messages m WHERE m.mailbox_id = mailboxes.id),
			unseen_count  = (SELECT ` + unseen(d, "flags") + ` FROM messages m WHERE m.mailbox_id = mailboxes.id),
			expunged_count = (SELECT count(*) FROM expunged e WHERE e.mailbox_id = mailboxes.id)`,
		`UPDATE mailboxes SET uidnext = ` + d.Greatest + `(uidnext,
			(SELECT coalesce(max(uid), 0) + 1 FROM messages m WHERE m.mailbox_id = mailboxes.id),
			(SELECT coalesce(max(uid), 0) + 1 FROM expunged e WHERE e.mailbox_id = mailboxes.id))`,
		`UPDATE mailboxes SET highestmodseq = ` + d.Greatest + `(highestmodseq,
			(SELECT coalesce(max(modseq), 0) FROM messages m WHERE m.mailbox_id = mailboxes.id),
			(SELECT coalesce(max(modseq), 0) FROM expunged e WHERE e.mailbox_id = mailboxes.id))`,
	}
	for _, q := range stmts {
		if _, err := w.exec(q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
	}
	return nil
}
