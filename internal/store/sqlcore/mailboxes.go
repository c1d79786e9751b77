package sqlcore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"mailhouse/internal/store"
)

const mailboxColumns = `SELECT id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed FROM mailboxes `

func scanMailbox(sc scanner) (store.Mailbox, error) {
	var m store.Mailbox
	err := sc.Scan(&m.ID, &m.Account, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &m.Subscribed)
	return m, err
}

// mailboxRow is what writes need to know about a mailbox.
type mailboxRow struct {
	id            store.MailboxID
	account       store.AccountID
	name          string
	uidnext       store.UID
	highestModSeq store.ModSeq
}

// mailbox reads a mailbox inside a write.
func (w *wtx) mailbox(id store.MailboxID) (mailboxRow, error) {
	m := mailboxRow{id: id}
	// ForUpdate: the UIDs and modseq a write takes from this row stay its
	// own until it commits, whichever connection the other writers use.
	err := w.queryRow("SELECT account_id, name, uidnext, highestmodseq FROM mailboxes WHERE id = ?"+w.s.d.ForUpdate, []any{id},
		&m.account, &m.name, &m.uidnext, &m.highestModSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mailbox #%d: %w", id, store.ErrNotFound)
	}
	return m, err
}

// mailboxByName reads a mailbox inside a write; name is normalised.
func (w *wtx) mailboxByName(account store.AccountID, name string) (mailboxRow, error) {
	m := mailboxRow{account: account, name: name}
	err := w.queryRow("SELECT id, uidnext, highestmodseq FROM mailboxes WHERE account_id = ? AND name = ?"+w.s.d.ForUpdate,
		[]any{account, name}, &m.id, &m.uidnext, &m.highestModSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mailbox %s: %w", name, store.ErrNotFound)
	}
	return m, err
}

// newUIDValidity hands out the account's next UIDVALIDITY: the current
// time in seconds, or one more than the last value if that is not
// smaller. Values only grow, so a mailbox name deleted and created again
// never gets a UIDVALIDITY it had before, and clients drop their cache
// (RFC 9051 §2.3.1.1).
func (w *wtx) newUIDValidity(account store.AccountID) (uint32, error) {
	var v int64
	err := w.queryRow(`UPDATE accounts SET uidvalidity_last = `+w.s.d.Greatest+`(uidvalidity_last + 1, ?)
		WHERE id = ? RETURNING uidvalidity_last`, []any{time.Now().Unix(), account}, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("account #%d: %w", account, store.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > math.MaxUint32 {
		return 0, fmt.Errorf("account #%d: UIDVALIDITY values exhausted: %w", account, store.ErrNotAllowed)
	}
	return uint32(v), nil
}

// createMailbox creates a mailbox inside a write; name is normalised.
func (w *wtx) createMailbox(account store.AccountID, name, specialUse string, subscribed bool) (store.Mailbox, error) {
	if _, err := w.mailboxByName(account, name); err == nil {
		return store.Mailbox{}, fmt.Errorf("mailbox %s: %w", name, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, err
	}
	uv, err := w.newUIDValidity(account)
	if err != nil {
		return store.Mailbox{}, err
	}
	m := store.Mailbox{Account: account, Name: name, SpecialUse: specialUse, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1, Subscribed: subscribed}
	id, err := w.insert(`INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highestmodseq, subscribed)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, account, name, specialUse, uv, m.UIDNext, m.HighestModSeq, subscribed)
	if w.s.d.isUnique(err) {
		return store.Mailbox{}, fmt.Errorf("mailbox %s: %w", name, store.ErrExists)
	}
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("mailbox %s: %w", name, err)
	}
	m.ID = store.MailboxID(id)
	w.event(store.Event{Kind: store.EventMailboxes, Account: account})
	return m, nil
}

// ListMailboxes implements store.Mailboxes; ordered by name (byte order).
func (s *Core) ListMailboxes(ctx context.Context, account store.AccountID) ([]store.Mailbox, error) {
	var ms []store.Mailbox
	err := s.readTx(ctx, func(r reader) error {
		if err := r.accountExists(account); err != nil {
			return err
		}
		var err error
		ms, err = all(r, scanMailbox, mailboxColumns+"WHERE account_id = ? ORDER BY name", account)
		return err
	})
	return ms, err
}

func (r reader) accountExists(id store.AccountID) error {
	var n int
	if err := r.queryRow("SELECT count(*) FROM accounts WHERE id = ?", []any{id}, &n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("account #%d: %w", id, store.ErrNotFound)
	}
	return nil
}

func (s *Core) getMailbox(ctx context.Context, what, where string, args ...any) (store.Mailbox, error) {
	var m store.Mailbox
	err := s.read(ctx, func(r reader) error {
		var err error
		m, err = first(r, func() error { return fmt.Errorf("mailbox %s: %w", what, store.ErrNotFound) },
			scanMailbox, mailboxColumns+"WHERE "+where, args...)
		return err
	})
	return m, err
}

// GetMailbox implements store.Mailboxes.
func (s *Core) GetMailbox(ctx context.Context, account store.AccountID, name string) (store.Mailbox, error) {
	n, err := lookupMailboxName(name)
	if err != nil {
		return store.Mailbox{}, err
	}
	return s.getMailbox(ctx, n, "account_id = ? AND name = ?", account, n)
}

// GetMailboxByID implements store.Mailboxes.
func (s *Core) GetMailboxByID(ctx context.Context, id store.MailboxID) (store.Mailbox, error) {
	return s.getMailbox(ctx, fmt.Sprintf("#%d", id), "id = ?", id)
}

// CreateMailbox implements store.Mailboxes. The new mailbox is not
// subscribed (RFC 9051 §6.3.4 leaves that to the client).
func (s *Core) CreateMailbox(ctx context.Context, account store.AccountID, name string, specialUse string) (store.Mailbox, error) {
	n, err := normMailboxName(name)
	if err != nil {
		return store.Mailbox{}, err
	}
	if err := checkSpecialUse(n, specialUse); err != nil {
		return store.Mailbox{}, err
	}
	var m store.Mailbox
	err = s.write(ctx, func(w *wtx) error {
		var err error
		m, err = w.createMailbox(account, n, specialUse, false)
		return err
	})
	return m, err
}

// DeleteMailbox implements store.Mailboxes. Mailboxes below it stay
// (RFC 9051 §6.3.5: deleting a parent does not delete its children).
func (s *Core) DeleteMailbox(ctx context.Context, account store.AccountID, name string) error {
	n, err := lookupMailboxName(name)
	if err != nil {
		return err
	}
	if n == inbox {
		return fmt.Errorf("mailbox INBOX: cannot be deleted: %w", store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		m, err := w.mailboxByName(account, n)
		if err != nil {
			return err
		}
		// Messages, expunge history and unshared bodies go by cascade and
		// trigger (migrations/0001_init.sql).
		if _, err := w.exec("DELETE FROM mailboxes WHERE id = ?", m.id); err != nil {
			return fmt.Errorf("mailbox %s: %w", n, err)
		}
		w.event(store.Event{Kind: store.EventMailboxes, Account: account})
		return nil
	})
}

// RenameMailbox implements store.Mailboxes. A renamed mailbox keeps its
// UIDVALIDITY and UIDs: its messages are the same (RFC 9051 §6.3.6).
func (s *Core) RenameMailbox(ctx context.Context, account store.AccountID, oldName, newName string) error {
	from, err := lookupMailboxName(oldName)
	if err != nil {
		return err
	}
	to, err := normMailboxName(newName)
	if err != nil {
		return err
	}
	if from == to {
		return fmt.Errorf("mailbox %s: renaming to itself: %w", to, store.ErrExists)
	}
	if to == inbox {
		return fmt.Errorf("mailbox %s: %w", to, store.ErrExists) // INBOX always exists
	}
	if from != inbox && strings.HasPrefix(to, from+"/") {
		// Renaming INBOX moves only its messages, so INBOX/x is a fine
		// target for it; any other mailbox would become its own child.
		return fmt.Errorf("mailbox %s: cannot be renamed below itself (%s): %w", from, to, store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		if from == inbox {
			return w.renameInbox(account, to)
		}
		return w.renameMailbox(account, from, to)
	})
}

func (w *wtx) renameMailbox(account store.AccountID, from, to string) error {
	m, err := w.mailboxByName(account, from)
	if err != nil {
		return err
	}
	type rename struct {
		id       store.MailboxID
		old, new string
	}
	renames := []rename{{m.id, from, to}}
	// Children: names starting with from + "/". A LIKE pattern would need
	// escaping of % and _; a range on the name index is exact: every
	// name with the prefix p sorts in [p, p + U+10FFFF).
	prefix := from + "/"
	rows, err := w.query(`SELECT id, name FROM mailboxes WHERE account_id = ? AND name >= ? AND name < ? ORDER BY name`,
		account, prefix, prefix+"\U0010FFFF")
	if err != nil {
		return err
	}
	for rows.Next() {
		var r rename
		if err := rows.Scan(&r.id, &r.old); err != nil {
			rows.Close()
			return err
		}
		if !strings.HasPrefix(r.old, prefix) {
			continue
		}
		r.new = to + "/" + strings.TrimPrefix(r.old, prefix)
		renames = append(renames, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Every new name must be free, except for names this rename frees.
	moving := make(map[string]bool, len(renames))
	for _, r := range renames {
		moving[r.old] = true
	}
	for _, r := range renames {
		if moving[r.new] {
			continue
		}
		if _, err := w.mailboxByName(account, r.new); err == nil {
			return fmt.Errorf("renaming mailbox %s to %s: mailbox %s: %w", from, to, r.new, store.ErrExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	// Two passes through names no mailbox can have (they hold a control
	// character) keep UNIQUE(account_id, name) satisfied at every step.
	for _, r := range renames {
		if _, err := w.exec("UPDATE mailboxes SET name = ? WHERE id = ?", fmt.Sprintf("\x01rename-%d", r.id), r.id); err != nil {
			return err
		}
	}
	for _, r := range renames {
		if _, err := w.exec("UPDATE mailboxes SET name = ? WHERE id = ?", r.new, r.id); err != nil {
			return err
		}
	}
	w.event(store.Event{Kind: store.EventMailboxes, Account: account})
	return nil
}

// renameInbox creates mailbox to and moves every INBOX message there,
// leaving INBOX empty; INBOX's children are not renamed (RFC 9051
// §6.3.6).
func (w *wtx) renameInbox(account store.AccountID, to string) error {
	in, err := w.mailboxByName(account, inbox)
	if err != nil {
		return err
	}
	dst, err := w.createMailbox(account, to, "", false)
	if err != nil {
		return err
	}
	uids, err := w.allUIDs(in.id)
	if err != nil {
		return err
	}
	_, _, err = w.copyMessages(in.id, uids, dst.ID, true)
	return err
}

// SetSubscribed implements store.Mailboxes.
func (s *Core) SetSubscribed(ctx context.Context, account store.AccountID, name string, subscribed bool) error {
	n, err := lookupMailboxName(name)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		c, err := w.execN("UPDATE mailboxes SET subscribed = ? WHERE account_id = ? AND name = ?", subscribed, account, n)
		if err != nil {
			return err
		}
		if c == 0 {
			return fmt.Errorf("mailbox %s: %w", n, store.ErrNotFound)
		}
		w.event(store.Event{Kind: store.EventMailboxes, Account: account})
		return nil
	})
}

// MailboxStatus implements store.Mailboxes, from the counters the
// schema's triggers keep.
func (s *Core) MailboxStatus(ctx context.Context, id store.MailboxID) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow(`SELECT message_count, unseen_count, message_bytes, uidnext, uidvalidity, highestmodseq
			FROM mailboxes WHERE id = ?`, []any{id},
			&st.Messages, &st.Unseen, &st.Size, &st.UIDNext, &st.UIDValidity, &st.HighestModSeq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox #%d: %w", id, store.ErrNotFound)
		}
		return err
	})
	return st, err
}

// AccountUsage implements store.Mailboxes.
func (s *Core) AccountUsage(ctx context.Context, account store.AccountID) (store.Usage, error) {
	var u store.Usage
	err := s.readTx(ctx, func(r reader) error {
		if err := r.accountExists(account); err != nil {
			return err
		}
		return r.queryRow(`SELECT coalesce(sum(message_bytes), 0), coalesce(sum(message_count), 0)
			FROM mailboxes WHERE account_id = ?`, []any{account}, &u.Bytes, &u.Messages)
	})
	return u, err
}
