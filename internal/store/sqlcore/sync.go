package sqlcore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"mailhouse/internal/store"
)

// store.Sync: what IMAP needs to serve large mailboxes cheaply.

var _ store.Sync = (*Core)(nil)

// flagSet is what MailboxView learns from one distinct stored flags
// value; a mailbox has few of them, so each is parsed once.
type flagSet struct {
	seen, deleted bool
	keywords      []string
}

// maxFlagSets bounds the parsed flags values MailboxView remembers.
const maxFlagSets = 10_000

func parseFlagSet(stored []byte) flagSet {
	var fs flagSet
	for _, f := range bytes.Fields(stored) {
		switch {
		case string(f) == store.FlagSeen:
			fs.seen = true
		case string(f) == store.FlagDeleted:
			fs.deleted = true
		case len(f) > 0 && f[0] != '\\':
			fs.keywords = append(fs.keywords, string(f))
		}
	}
	return fs
}

// MailboxView implements store.Sync in one read transaction: the
// mailbox row, then one pass over its messages' UIDs and flags.
func (s *Core) MailboxView(ctx context.Context, mailbox store.MailboxID) (store.MailboxView, error) {
	var v store.MailboxView
	err := s.readTx(ctx, func(r reader) error {
		var err error
		v.Mailbox, err = first(r, func() error { return fmt.Errorf("mailbox #%d: %w", mailbox, store.ErrNotFound) },
			scanMailbox, mailboxColumns+"WHERE id = ?", mailbox)
		if err != nil {
			return err
		}

		var count int
		if err := r.queryRow("SELECT message_count FROM mailboxes WHERE id = ?", []any{mailbox}, &count); err != nil {
			return err
		}
		v.UIDs = make([]store.UID, 0, count)
		sets := map[string]flagSet{}
		keywords := map[string]bool{}
		rows, err := r.query("SELECT uid, flags FROM messages WHERE mailbox_id = ? ORDER BY uid", mailbox)
		if err != nil {
			return err
		}
		defer rows.Close()
		var uid store.UID
		var flags []byte
		for rows.Next() {
			if err := rows.Scan(&uid, &flags); err != nil {
				return err
			}
			v.UIDs = append(v.UIDs, uid)
			fs, ok := sets[string(flags)]
			if !ok {
				fs = parseFlagSet(flags)
				if len(sets) < maxFlagSets {
					sets[string(flags)] = fs
				}
				for _, k := range fs.keywords {
					if len(keywords) < store.MaxViewKeywords {
						keywords[k] = true
					}
				}
			}
			if !fs.seen && v.FirstUnseen == 0 {
				v.FirstUnseen = uid
			}
			if fs.deleted {
				v.Deleted++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for k := range keywords {
			v.Keywords = append(v.Keywords, k)
		}
		slices.Sort(v.Keywords)
		return nil
	})
	return v, err
}

// ListMessagesRange implements store.Sync.
func (s *Core) ListMessagesRange(ctx context.Context, mailbox store.MailboxID, lo, hi store.UID) ([]store.MessageMeta, error) {
	var ms []store.MessageMeta
	err := s.readTx(ctx, func(r reader) error {
		if err := r.mailboxExists(mailbox); err != nil {
			return err
		}
		var err error
		ms, err = r.messages(mailbox, messageColumns+"WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid", mailbox, lo, hi)
		return err
	})
	return ms, err
}

// DeletedUIDs implements store.Sync. The stored flags are sorted and
// space-separated, so a flag is a space-delimited word.
func (s *Core) DeletedUIDs(ctx context.Context, mailbox store.MailboxID) ([]store.UID, error) {
	var uids []store.UID
	err := s.readTx(ctx, func(r reader) error {
		if err := r.mailboxExists(mailbox); err != nil {
			return err
		}
		rows, err := r.query(`SELECT uid FROM messages WHERE mailbox_id = ?
			AND `+s.d.Instr+`(' ' || flags || ' ', ' \Deleted ') > 0 ORDER BY uid`, mailbox)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid store.UID
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		return rows.Err()
	})
	return uids, err
}

// Quota implements store.Sync.
func (s *Core) Quota(ctx context.Context, account store.AccountID) (store.Quota, error) {
	var q store.Quota
	// One statement is one snapshot: no read transaction needed (on
	// PostgreSQL that would be a BEGIN and a ROLLBACK more per delivery).
	err := s.read(ctx, func(r reader) error {
		err := r.queryRow(`SELECT a.quota_bytes, coalesce(q.max_messages, 0),
				CAST(coalesce(sum(m.message_bytes), 0) AS BIGINT), CAST(coalesce(sum(m.message_count), 0) AS BIGINT)
			FROM accounts a LEFT JOIN account_quotas q ON q.account_id = a.id
			LEFT JOIN mailboxes m ON m.account_id = a.id
			WHERE a.id = ? GROUP BY a.id, a.quota_bytes, q.max_messages`,
			[]any{account}, &q.LimitBytes, &q.LimitMessages, &q.Usage.Bytes, &q.Usage.Messages)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account #%d: %w", account, store.ErrNotFound)
		}
		return err
	})
	return q, err
}

// SetMessageQuota implements store.Sync.
func (s *Core) SetMessageQuota(ctx context.Context, address string, messages int64) error {
	if messages < 0 {
		return fmt.Errorf("account %s: negative message quota: %w", address, store.ErrNotAllowed)
	}
	return s.write(ctx, func(w *wtx) error {
		var id store.AccountID
		err := w.queryRow("SELECT id FROM accounts WHERE address = ?", []any{address}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("account %s: %w", address, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		_, err = w.exec(`INSERT INTO account_quotas (account_id, max_messages) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET max_messages = excluded.max_messages`, id, messages)
		return err
	})
}
