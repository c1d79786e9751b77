package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"mailhouse/internal/store"
)

// The expunge history horizon. QRESYNC (RFC 7162 §3.2.5) asks which UIDs
// were expunged since a modseq; the table expunged answers it, but only
// for the newest expungedKeep expunges of each mailbox and for at most
// expungedMaxAge. Older rows are pruned, and the mailbox's
// expunged_floor records the highest modseq pruned: Changes(since) with
// since below it sets Changes.ExpungedIncomplete.
const (
	expungedKeep   = 10_000
	expungedMaxAge = 90 * 24 * time.Hour
	// maintainEvery is how often the age limit is applied (also at Open).
	maintainEvery = 6 * time.Hour
	// pruneMailboxesPerWrite bounds one pruning write, so that a long
	// backlog does not hold the committer: it is done in several writes.
	pruneMailboxesPerWrite = 100
)

// pruneExpunged drops a mailbox's oldest expunge records, about excess of
// them (whole modseqs: the rows of one expunge share one).
func (w *wtx) pruneExpunged(mailbox store.MailboxID, excess int64) error {
	var cut store.ModSeq
	err := w.queryRow("SELECT modseq FROM expunged WHERE mailbox_id = ? ORDER BY modseq LIMIT 1 OFFSET ?",
		[]any{mailbox, excess - 1}, &cut)
	if errors.Is(err, sql.ErrNoRows) {
		// The counter overstated the rows (it cannot, short of a bug):
		// set it right and prune next time.
		_, err = w.exec("UPDATE mailboxes SET expunged_count = (SELECT count(*) FROM expunged WHERE mailbox_id = ?1) WHERE id = ?1", mailbox)
		return err
	}
	if err != nil {
		return err
	}
	return w.pruneExpungedTo(mailbox, cut)
}

// pruneExpungedTo drops a mailbox's expunge records up to modseq cut.
func (w *wtx) pruneExpungedTo(mailbox store.MailboxID, cut store.ModSeq) error {
	n, err := w.execN("DELETE FROM expunged WHERE mailbox_id = ? AND modseq <= ?", mailbox, cut)
	if err != nil {
		return err
	}
	_, err = w.exec(`UPDATE mailboxes SET expunged_floor = `+w.s.d.Greatest+`(expunged_floor, ?), expunged_count = expunged_count - ?
		WHERE id = ?`, cut, n, mailbox)
	return err
}

// PruneExpungedBefore drops expunge records older than cutoff, a bounded
// number of mailboxes per write. It reports whether it is done. Maintain
// runs it; tests call it to cross the age limit.
func PruneExpungedBefore(ctx context.Context, s *Core, cutoff time.Time) (done bool, err error) {
	err = s.write(ctx, func(w *wtx) error {
		rows, err := w.query(`SELECT mailbox_id, max(modseq) FROM expunged WHERE at < ?
			GROUP BY mailbox_id LIMIT ?`, cutoff.Unix(), pruneMailboxesPerWrite)
		if err != nil {
			return err
		}
		type cut struct {
			mailbox store.MailboxID
			modseq  store.ModSeq
		}
		var cuts []cut
		for rows.Next() {
			var c cut
			if err := rows.Scan(&c.mailbox, &c.modseq); err != nil {
				rows.Close()
				return err
			}
			cuts = append(cuts, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range cuts {
			if err := w.pruneExpungedTo(c.mailbox, c.modseq); err != nil {
				return err
			}
		}
		done = len(cuts) < pruneMailboxesPerWrite
		return nil
	})
	return done, err
}

// Maintain applies the expunge history's age limit at once and then
// every maintainEvery, until stop is closed. A backend runs it in a
// goroutine from Open to Close.
func Maintain(s *Core, stop <-chan struct{}) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		for done := false; !done; {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			done, err = PruneExpungedBefore(context.Background(), s, time.Now().Add(-expungedMaxAge))
			if err != nil {
				if !errors.Is(err, store.ErrClosed) {
					s.log.Warn(s.d.Name+": pruning the expunge history", "err", err)
				}
				break
			}
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
