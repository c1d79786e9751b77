package sqlcore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"mailhouse/internal/store"
)

// Changes to existing messages: flags, expunge, copy and move. Each write
// takes ONE new modseq per mailbox it changes (RFC 7162 §3.1 lets
// messages changed by one command share it): every changed message gets
// highestmodseq+1, which then becomes the mailbox's highestmodseq. So
// Changes(since) is exactly the rows with modseq > since.

// sortedUIDs returns uids ascending without duplicates.
func sortedUIDs(uids []UID) []UID {
	out := slices.Clone(uids)
	slices.Sort(out)
	return slices.Compact(out)
}

// UID is store.UID, short for this file.
type UID = store.UID

// scanThreshold: above this many UIDs, reading the UID range once beats
// one lookup per UID.
const scanThreshold = 64

// existing returns the metadata of the messages of mailbox among uids
// (ascending, no duplicates), ascending; UIDs with no message are left
// out.
func (w *wtx) existing(mailbox store.MailboxID, uids []UID) ([]store.MessageMeta, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	var q string
	var args []any
	if len(uids) > scanThreshold {
		q = messageColumns + "WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid"
		args = []any{mailbox, uids[0], uids[len(uids)-1]}
	} else {
		q = messageColumns + "WHERE mailbox_id = ? AND uid = ?"
	}
	var out []store.MessageMeta
	read := func(args ...any) error {
		rows, err := w.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows, mailbox)
			if err != nil {
				return err
			}
			if _, ok := slices.BinarySearch(uids, m.UID); ok {
				out = append(out, m)
			}
		}
		return rows.Err()
	}
	if args != nil {
		return out, read(args...)
	}
	for _, uid := range uids {
		if err := read(mailbox, uid); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// allUIDs lists a mailbox's UIDs inside a write.
func (w *wtx) allUIDs(mailbox store.MailboxID) ([]UID, error) {
	rows, err := w.query("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", mailbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var uids []UID
	for rows.Next() {
		var uid UID
		if err := rows.Scan(&uid); err != nil {
			return nil, err
		}
		uids = append(uids, uid)
	}
	return uids, rows.Err()
}

// UpdateFlags implements store.Messages. A message whose flags the
// operation would not change keeps its modseq and is not reported.
func (s *Core) UpdateFlags(ctx context.Context, u store.FlagUpdate) (store.FlagResult, error) {
	switch u.Op {
	case store.FlagsAdd, store.FlagsRemove, store.FlagsReplace:
	default:
		return store.FlagResult{}, fmt.Errorf("flag update: unknown operation %d: %w", u.Op, store.ErrNotAllowed)
	}
	flags, err := normFlags(u.Flags)
	if err != nil {
		return store.FlagResult{}, err
	}
	uids := sortedUIDs(u.UIDs)
	var res store.FlagResult
	err = s.write(ctx, func(w *wtx) error {
		m, err := w.mailbox(u.Mailbox)
		if err != nil {
			return err
		}
		msgs, err := w.existing(u.Mailbox, uids)
		if err != nil {
			return err
		}
		modseq := m.highestModSeq + 1
		for _, msg := range msgs {
			// RFC 7162 §3.1.3: UNCHANGEDSINCE fails messages changed after it.
			if u.UnchangedSince > 0 && msg.ModSeq > u.UnchangedSince {
				res.Failed = append(res.Failed, msg.UID)
				continue
			}
			nf := applyFlags(msg.Flags, u.Op, flags)
			if slices.Equal(nf, msg.Flags) {
				continue
			}
			if _, err := w.exec("UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
				joinFlags(nf), modseq, u.Mailbox, msg.UID); err != nil {
				return err
			}
			msg.Flags, msg.ModSeq = nf, modseq
			res.Updated = append(res.Updated, msg)
		}
		if len(res.Updated) == 0 {
			return nil
		}
		if _, err := w.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", modseq, u.Mailbox); err != nil {
			return err
		}
		w.messagesEvent(m.account, u.Mailbox, modseq)
		return nil
	})
	if err != nil {
		return store.FlagResult{}, err
	}
	return res, nil
}

// Expunge implements store.Messages.
func (s *Core) Expunge(ctx context.Context, mailbox store.MailboxID, uids []UID) ([]UID, error) {
	uids = sortedUIDs(uids)
	var gone []UID
	err := s.write(ctx, func(w *wtx) error {
		var err error
		gone, err = w.expunge(mailbox, uids)
		return err
	})
	return gone, err
}

// expunge removes the messages of mailbox among uids (ascending) and
// records them in the expunge history; it returns the UIDs removed.
func (w *wtx) expunge(mailbox store.MailboxID, uids []UID) ([]UID, error) {
	// Read the mailbox here, not from the caller: Move to the same mailbox
	// has just raised its modseq.
	m, err := w.mailbox(mailbox)
	if err != nil {
		return nil, err
	}
	msgs, err := w.existing(mailbox, uids)
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	modseq := m.highestModSeq + 1
	at := time.Now().Unix()
	gone := make([]UID, 0, len(msgs))
	for _, msg := range msgs {
		// The body goes with its last message (trigger messages_body_gc).
		if _, err := w.exec("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", mailbox, msg.UID); err != nil {
			return nil, err
		}
		if _, err := w.exec("INSERT INTO expunged (mailbox_id, uid, modseq, at) VALUES (?, ?, ?, ?)",
			mailbox, msg.UID, modseq, at); err != nil {
			return nil, err
		}
		gone = append(gone, msg.UID)
	}
	var count int64
	if err := w.queryRow(`UPDATE mailboxes SET highestmodseq = ?, expunged_count = expunged_count + ?
		WHERE id = ? RETURNING expunged_count`, []any{modseq, len(gone), mailbox}, &count); err != nil {
		return nil, err
	}
	// Prune in steps of a tenth of the bound, not at every expunge.
	if keep := int64(w.s.ExpungedKeep); count > keep+keep/10 {
		if err := w.pruneExpunged(mailbox, count-keep); err != nil {
			return nil, err
		}
	}
	w.messagesEvent(m.account, mailbox, modseq)
	return gone, nil
}

// Copy implements store.Messages.
func (s *Core) Copy(ctx context.Context, from store.MailboxID, uids []UID, to store.MailboxID) (src, dst []UID, err error) {
	uids = sortedUIDs(uids)
	err = s.write(ctx, func(w *wtx) error {
		var err error
		src, dst, err = w.copyMessages(from, uids, to, false)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// Move implements store.Messages: Copy then Expunge in one write.
func (s *Core) Move(ctx context.Context, from store.MailboxID, uids []UID, to store.MailboxID) (src, dst []UID, err error) {
	uids = sortedUIDs(uids)
	err = s.write(ctx, func(w *wtx) error {
		var err error
		src, dst, err = w.copyMessages(from, uids, to, true)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// copyMessages copies the messages of from among uids (ascending) to to,
// sharing their bodies, and with move expunges them from from. New UIDs
// follow the source order (RFC 4315 COPYUID pairs them in order).
func (w *wtx) copyMessages(from store.MailboxID, uids []UID, to store.MailboxID, move bool) (src, dst []UID, err error) {
	sm, err := w.mailbox(from)
	if err != nil {
		return nil, nil, err
	}
	dm, err := w.mailbox(to)
	if err != nil {
		return nil, nil, err
	}
	if sm.account != dm.account {
		return nil, nil, fmt.Errorf("copying from mailbox #%d to #%d: different accounts: %w", from, to, store.ErrNotAllowed)
	}
	msgs, err := w.existing(from, uids)
	if err != nil || len(msgs) == 0 {
		return nil, nil, err
	}
	if int64(dm.uidnext)+int64(len(msgs))-1 > math.MaxUint32 {
		return nil, nil, fmt.Errorf("copying to mailbox %s: UIDs exhausted: %w", dm.name, store.ErrNotAllowed)
	}
	modseq := dm.highestModSeq + 1
	next := dm.uidnext
	for _, msg := range msgs {
		if _, err := w.exec(`INSERT INTO messages
			(mailbox_id, uid, body_id, modseq, flags, internal_date, internal_tz, size, prefix)
			SELECT ?, ?, body_id, ?, flags, internal_date, internal_tz, size, prefix
			FROM messages WHERE mailbox_id = ? AND uid = ?`, to, next, modseq, from, msg.UID); err != nil {
			return nil, nil, err
		}
		src = append(src, msg.UID)
		dst = append(dst, next)
		next++
	}
	if _, err := w.exec("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?", next, modseq, to); err != nil {
		return nil, nil, err
	}
	w.messagesEvent(dm.account, to, modseq)
	if move {
		if _, err := w.expunge(from, src); err != nil {
			return nil, nil, err
		}
	}
	return src, dst, nil
}
