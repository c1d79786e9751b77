package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"mailhouse/internal/store"
)

const messageColumns = `SELECT uid, modseq, flags, internal_date, internal_tz, size, length(prefix) FROM messages `

func scanMessage(sc scanner, mailbox store.MailboxID) (store.MessageMeta, error) {
	m := store.MessageMeta{Mailbox: mailbox}
	var flags string
	var date int64
	var tz int
	err := sc.Scan(&m.UID, &m.ModSeq, &flags, &date, &tz, &m.Size, &m.PrefixLen)
	m.Flags = splitFlags(flags)
	m.InternalDate = fromStoredTime(date, tz)
	return m, err
}

// Internal dates keep their zone offset, so that an APPENDed date-time
// comes back as it was given (RFC 9051 §6.3.12).
func toStoredTime(t time.Time) (nanos int64, tz int) {
	_, off := t.Zone()
	return t.UnixNano(), off
}

func fromStoredTime(nanos int64, tz int) time.Time {
	t := time.Unix(0, nanos)
	if tz == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", tz))
}

// messageNotFound is the error for a missing message.
func messageNotFound(mailbox store.MailboxID, uid store.UID) error {
	return fmt.Errorf("message %d in mailbox #%d: %w", uid, mailbox, store.ErrNotFound)
}

// Deliver implements store.Messages: one body row, and one message row
// per target, each taking its mailbox's UIDNEXT and HIGHESTMODSEQ+1, all
// in one write.
func (s *Core) Deliver(ctx context.Context, d store.Delivery) ([]store.Delivered, error) {
	if len(d.Targets) == 0 {
		return nil, fmt.Errorf("delivery without targets: %w", store.ErrNotAllowed)
	}
	type target struct {
		mailbox store.MailboxID
		prefix  []byte
		flags   string
		date    int64
		tz      int
	}
	now := time.Now()
	ts := make([]target, len(d.Targets))
	for i, t := range d.Targets {
		flags, err := normFlags(t.Flags)
		if err != nil {
			return nil, fmt.Errorf("delivery to mailbox #%d: %w", t.Mailbox, err)
		}
		date := t.InternalDate
		if date.IsZero() {
			date = now
		}
		ts[i] = target{mailbox: t.Mailbox, prefix: t.Prefix, flags: joinFlags(flags)}
		ts[i].date, ts[i].tz = toStoredTime(date)
		if ts[i].prefix == nil {
			ts[i].prefix = []byte{} // NOT NULL
		}
	}
	body := d.Body
	if body == nil {
		body = []byte{}
	}
	out := make([]store.Delivered, len(ts))
	err := s.write(ctx, func(w *wtx) error {
		bodyID, err := w.insert("INSERT INTO bodies (size, parsed, data) VALUES (?, ?, ?)", len(body), d.Parsed, body)
		if err != nil {
			return fmt.Errorf("storing body: %w", err)
		}
		for i, t := range ts {
			var account store.AccountID
			var uid int64
			var modseq store.ModSeq
			err := w.queryRow(`UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
				WHERE id = ? RETURNING account_id, uidnext - 1, highestmodseq`, []any{t.mailbox}, &account, &uid, &modseq)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("delivery to mailbox #%d: %w", t.mailbox, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("delivery to mailbox #%d: %w", t.mailbox, err)
			}
			if uid > math.MaxUint32 {
				return fmt.Errorf("delivery to mailbox #%d: UIDs exhausted, the mailbox must be recreated: %w", t.mailbox, store.ErrNotAllowed)
			}
			if _, err := w.exec(`INSERT INTO messages
				(mailbox_id, uid, body_id, modseq, flags, internal_date, internal_tz, size, prefix)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.mailbox, uid, bodyID, modseq, t.flags, t.date, t.tz, len(t.prefix)+len(body), t.prefix); err != nil {
				return fmt.Errorf("delivery to mailbox #%d: %w", t.mailbox, err)
			}
			out[i] = store.Delivered{Mailbox: t.mailbox, UID: store.UID(uid), ModSeq: modseq}
			w.messagesEvent(account, t.mailbox, modseq)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// messagesEvent notes an EventMessages, one per mailbox per write.
func (w *wtx) messagesEvent(account store.AccountID, mailbox store.MailboxID, modseq store.ModSeq) {
	for i := range w.events {
		if e := &w.events[i]; e.Kind == store.EventMessages && e.Mailbox == mailbox {
			e.ModSeq = max(e.ModSeq, modseq)
			return
		}
	}
	w.event(store.Event{Kind: store.EventMessages, Account: account, Mailbox: mailbox, ModSeq: modseq})
}

func (r reader) mailboxExists(id store.MailboxID) error {
	var n int
	if err := r.queryRow("SELECT count(*) FROM mailboxes WHERE id = ?", []any{id}, &n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("mailbox #%d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ListMessages implements store.Messages.
func (s *Core) ListMessages(ctx context.Context, mailbox store.MailboxID) ([]store.MessageMeta, error) {
	var ms []store.MessageMeta
	err := s.readTx(ctx, func(r reader) error {
		if err := r.mailboxExists(mailbox); err != nil {
			return err
		}
		var err error
		ms, err = r.messages(mailbox, messageColumns+"WHERE mailbox_id = ? ORDER BY uid", mailbox)
		return err
	})
	return ms, err
}

func (r reader) messages(mailbox store.MailboxID, q string, args ...any) ([]store.MessageMeta, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []store.MessageMeta
	for rows.Next() {
		m, err := scanMessage(rows, mailbox)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// GetMessage implements store.Messages.
func (s *Core) GetMessage(ctx context.Context, mailbox store.MailboxID, uid store.UID) (store.MessageMeta, error) {
	var m store.MessageMeta
	err := s.read(ctx, func(r reader) error {
		ms, err := r.messages(mailbox, messageColumns+"WHERE mailbox_id = ? AND uid = ?", mailbox, uid)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return messageNotFound(mailbox, uid)
		}
		m = ms[0]
		return nil
	})
	return m, err
}

// ReadMessage implements store.Messages: the copy's prefix followed by
// the shared body, read in one statement (one snapshot).
func (s *Core) ReadMessage(ctx context.Context, mailbox store.MailboxID, uid store.UID) ([]byte, error) {
	var msg []byte
	err := s.read(ctx, func(r reader) error {
		var prefix, body []byte
		err := r.queryRow(`SELECT m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id
			WHERE m.mailbox_id = ? AND m.uid = ?`, []any{mailbox, uid}, &prefix, &body)
		if errors.Is(err, sql.ErrNoRows) {
			return messageNotFound(mailbox, uid)
		}
		msg = make([]byte, 0, len(prefix)+len(body))
		msg = append(append(msg, prefix...), body...)
		return err
	})
	return msg, err
}

// ReadParsed implements store.Messages; nil if the delivery stored none.
func (s *Core) ReadParsed(ctx context.Context, mailbox store.MailboxID, uid store.UID) ([]byte, error) {
	var parsed []byte
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow(`SELECT b.parsed FROM messages m JOIN bodies b ON b.id = m.body_id
			WHERE m.mailbox_id = ? AND m.uid = ?`, []any{mailbox, uid}, &parsed)
		if errors.Is(err, sql.ErrNoRows) {
			return messageNotFound(mailbox, uid)
		}
		return err
	})
	return parsed, err
}

// Changes implements store.Messages, from one snapshot. Expunges are
// remembered only within a horizon (expunged.go); when since is older,
// Changes.ExpungedIncomplete says so.
func (s *Core) Changes(ctx context.Context, mailbox store.MailboxID, since store.ModSeq) (store.Changes, error) {
	var c store.Changes
	err := s.readTx(ctx, func(r reader) error {
		var floor store.ModSeq
		err := r.queryRow("SELECT highestmodseq, expunged_floor FROM mailboxes WHERE id = ?", []any{mailbox},
			&c.HighestModSeq, &floor)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox #%d: %w", mailbox, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c.ExpungedIncomplete = since < floor
		c.Messages, err = r.messages(mailbox, messageColumns+"WHERE mailbox_id = ? AND modseq > ? ORDER BY uid", mailbox, since)
		if err != nil {
			return err
		}
		rows, err := r.query("SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid", mailbox, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid store.UID
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			c.Expunged = append(c.Expunged, uid)
		}
		return rows.Err()
	})
	return c, err
}
