package store

import "context"

// Sync is what mail clients that resynchronise large mailboxes need
// beyond Messages: a cheap view of a mailbox for IMAP SELECT, metadata of
// a UID range rather than of the whole mailbox, the \Deleted messages
// without reading every message, and the account's quota. A store
// implements it beside Store; callers type-assert (st.(store.Sync)) and
// may fall back to Messages.
type Sync interface {
	// MailboxView returns a mailbox and a summary of its messages, read
	// together from one snapshot, so that the UIDs and the mailbox's
	// HighestModSeq agree.
	MailboxView(ctx context.Context, mailbox MailboxID) (MailboxView, error)
	// ListMessagesRange returns the metadata of the messages whose UID is
	// in [lo, hi], ordered by UID, as ListMessages does for all of them.
	ListMessagesRange(ctx context.Context, mailbox MailboxID, lo, hi UID) ([]MessageMeta, error)
	// DeletedUIDs returns the UIDs of the messages flagged \Deleted,
	// ascending.
	DeletedUIDs(ctx context.Context, mailbox MailboxID) ([]UID, error)
	// Quota returns the account's limits and use, read together.
	Quota(ctx context.Context, account AccountID) (Quota, error)
	// SetMessageQuota sets the most messages an account may hold; 0 means
	// unlimited. It is for administrators (the byte limit is
	// Directory.SetQuota).
	SetMessageQuota(ctx context.Context, address string, messages int64) error
}

// MaxViewKeywords bounds MailboxView.Keywords.
const MaxViewKeywords = 1000

// MailboxView is a mailbox with what selecting it needs to know.
type MailboxView struct {
	Mailbox Mailbox
	// UIDs of every message, ascending.
	UIDs []UID
	// FirstUnseen is the lowest UID without \Seen; 0 when every message
	// has it.
	FirstUnseen UID
	// Deleted counts the messages flagged \Deleted.
	Deleted int
	// Keywords are the keywords (flags not starting with "\") in use,
	// sorted, at most MaxViewKeywords of them.
	Keywords []string
}

// Quota is an account's limits and use. A limit of 0 means unlimited.
type Quota struct {
	LimitBytes    int64 // Account.QuotaBytes
	LimitMessages int64
	Usage         Usage
}
