package imapd

import (
	"context"
	"fmt"
	"slices"

	"mailhouse/internal/store"
)

// storeSync returns the store's store.Sync, or one built on
// store.Messages for stores without it (slower: it lists whole
// mailboxes, and knows no message-count limit).
func storeSync(st store.Store) store.Sync {
	if s, ok := st.(store.Sync); ok {
		return s
	}
	return fallbackSync{st}
}

type fallbackSync struct{ st store.Store }

func (f fallbackSync) MailboxView(ctx context.Context, id store.MailboxID) (store.MailboxView, error) {
	mb, err := f.st.GetMailboxByID(ctx, id)
	if err != nil {
		return store.MailboxView{}, err
	}
	msgs, err := f.st.ListMessages(ctx, id)
	if err != nil {
		return store.MailboxView{}, err
	}
	// mb was read first: its HighestModSeq may be below the list's state,
	// never above it, so a client resuming from it misses nothing.
	v := store.MailboxView{Mailbox: mb, UIDs: make([]store.UID, len(msgs))}
	keywords := map[string]bool{}
	for i, m := range msgs {
		v.UIDs[i] = m.UID
		if v.FirstUnseen == 0 && !hasFlag(m.Flags, store.FlagSeen) {
			v.FirstUnseen = m.UID
		}
		if hasFlag(m.Flags, store.FlagDeleted) {
			v.Deleted++
		}
		for _, k := range m.Flags {
			if len(k) > 0 && k[0] != '\\' && len(keywords) < store.MaxViewKeywords {
				keywords[k] = true
			}
		}
	}
	for k := range keywords {
		v.Keywords = append(v.Keywords, k)
	}
	slices.Sort(v.Keywords)
	slices.Sort(v.UIDs)
	return v, nil
}

func (f fallbackSync) ListMessagesRange(ctx context.Context, id store.MailboxID, lo, hi store.UID) ([]store.MessageMeta, error) {
	msgs, err := f.st.ListMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(msgs, func(m store.MessageMeta) bool { return m.UID < lo || m.UID > hi }), nil
}

func (f fallbackSync) DeletedUIDs(ctx context.Context, id store.MailboxID) ([]store.UID, error) {
	msgs, err := f.st.ListMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []store.UID
	for _, m := range msgs {
		if hasFlag(m.Flags, store.FlagDeleted) {
			out = append(out, m.UID)
		}
	}
	return out, nil
}

func (f fallbackSync) Quota(ctx context.Context, id store.AccountID) (store.Quota, error) {
	a, err := f.st.GetAccountByID(ctx, id)
	if err != nil {
		return store.Quota{}, err
	}
	u, err := f.st.AccountUsage(ctx, id)
	return store.Quota{LimitBytes: a.QuotaBytes, Usage: u}, err
}

func (f fallbackSync) SetMessageQuota(ctx context.Context, address string, n int64) error {
	return fmt.Errorf("message quotas: %w", store.ErrNotAllowed)
}
