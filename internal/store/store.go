// Package store defines mailhouse's persistent data model and the small
// interfaces through which every other package reads and writes it.
//
// The package holds no driver: internal/store/sqlstore implements the
// interfaces on SQLite (the embedded default) and, later, PostgreSQL.
// Protocol packages import only this package, never a driver, so that a
// new backend fits without changing them.
//
// Durability contract: a write method that returns a nil error has
// committed and fsynced its change. Writes that arrive at the same moment
// may share one transaction and one fsync (group commit), but each caller
// sees only its own result.
package store

import (
	"context"
	"io"
)

// Store is everything a running mailhouse needs from persistent storage.
type Store interface {
	Directory
	Mailboxes
	Messages
	Feed
	Locker
	Queue
	DKIMKeys
	io.Closer
}

// Directory holds the domains, accounts and aliases that decide who gets
// mail. Addresses passed in must already be normalised (see
// internal/directory.Normalize): lower-case local part, A-label domain.
type Directory interface {
	AddDomain(ctx context.Context, name string) (Domain, error)
	// DeleteDomain fails with ErrNotEmpty while accounts or aliases remain.
	DeleteDomain(ctx context.Context, name string) error
	GetDomain(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context) ([]Domain, error)

	// AddAccount creates the account and its default mailboxes
	// (DefaultMailboxes) in one transaction. The domain must exist.
	AddAccount(ctx context.Context, a NewAccount) (Account, error)
	// DeleteAccount removes the account, its mailboxes and messages.
	DeleteAccount(ctx context.Context, address string) error
	GetAccount(ctx context.Context, address string) (Account, error)
	GetAccountByID(ctx context.Context, id AccountID) (Account, error)
	// ListAccounts lists the accounts of one domain, or of all domains
	// when domain is empty, ordered by address.
	ListAccounts(ctx context.Context, domain string) ([]Account, error)
	SetPassword(ctx context.Context, address, passwordHash string) error
	SetQuota(ctx context.Context, address string, quotaBytes int64) error

	// AddAlias creates an alias. Address may be "@domain" for a catch-all.
	// The domain must exist and no account may have the same address.
	AddAlias(ctx context.Context, a Alias) error
	DeleteAlias(ctx context.Context, address string) error
	GetAlias(ctx context.Context, address string) (Alias, error)
	ListAliases(ctx context.Context, domain string) ([]Alias, error)
}

// Mailboxes manages an account's folders.
type Mailboxes interface {
	// ListMailboxes returns every mailbox of the account, ordered by name.
	ListMailboxes(ctx context.Context, account AccountID) ([]Mailbox, error)
	// GetMailbox finds a mailbox by name; "INBOX" matches case-insensitively.
	GetMailbox(ctx context.Context, account AccountID, name string) (Mailbox, error)
	GetMailboxByID(ctx context.Context, id MailboxID) (Mailbox, error)
	// CreateMailbox fails with ErrExists if the name is taken.
	CreateMailbox(ctx context.Context, account AccountID, name string, specialUse string) (Mailbox, error)
	// DeleteMailbox removes the mailbox and expunges its messages. INBOX
	// cannot be deleted (ErrNotAllowed).
	DeleteMailbox(ctx context.Context, account AccountID, name string) error
	// RenameMailbox renames a mailbox and every mailbox below it
	// (names starting with old + "/"). Renaming INBOX moves all its
	// messages to a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
	RenameMailbox(ctx context.Context, account AccountID, oldName, newName string) error
	SetSubscribed(ctx context.Context, account AccountID, name string, subscribed bool) error
	// MailboxStatus counts a mailbox's messages.
	MailboxStatus(ctx context.Context, id MailboxID) (MailboxStatus, error)
	// AccountUsage is the total size and count of the account's messages.
	AccountUsage(ctx context.Context, account AccountID) (Usage, error)
}

// Messages stores and changes messages. A mailbox's UIDs and modseqs
// only grow; every change to a message's flags, and every expunge,
// takes a new modseq from its mailbox.
type Messages interface {
	// Deliver stores one body and adds it to every target mailbox in one
	// transaction: either all targets get the message or none does.
	Deliver(ctx context.Context, d Delivery) ([]Delivered, error)
	// ListMessages returns the metadata of every message in a mailbox,
	// ordered by UID, without bodies.
	ListMessages(ctx context.Context, mailbox MailboxID) ([]MessageMeta, error)
	// GetMessage returns one message's metadata.
	GetMessage(ctx context.Context, mailbox MailboxID, uid UID) (MessageMeta, error)
	// ReadMessage returns the message exactly as stored: its Prefix
	// followed by its shared body.
	ReadMessage(ctx context.Context, mailbox MailboxID, uid UID) ([]byte, error)
	// ReadParsed returns the structure computed at delivery (opaque to the
	// store; see Delivery.Parsed).
	ReadParsed(ctx context.Context, mailbox MailboxID, uid UID) ([]byte, error)
	// Changes returns the messages whose modseq is above since (new or
	// changed), ordered by UID, and the UIDs expunged above since.
	Changes(ctx context.Context, mailbox MailboxID, since ModSeq) (Changes, error)
	// UpdateFlags changes the flags of the given UIDs (UIDs that do not
	// exist are skipped). With UnchangedSince > 0, messages whose modseq is
	// above it are left alone and reported in Result.Failed (RFC 7162).
	UpdateFlags(ctx context.Context, u FlagUpdate) (FlagResult, error)
	// Expunge removes the given UIDs and returns the ones that existed.
	Expunge(ctx context.Context, mailbox MailboxID, uids []UID) ([]UID, error)
	// Copy copies messages (sharing their bodies) to another mailbox of the
	// same account; it returns source and new UIDs, pairwise.
	Copy(ctx context.Context, from MailboxID, uids []UID, to MailboxID) (src, dst []UID, err error)
	// Move is Copy then Expunge in one transaction.
	Move(ctx context.Context, from MailboxID, uids []UID, to MailboxID) (src, dst []UID, err error)
}

// Feed tells sessions that a mailbox changed. Events are hints: a session
// re-reads what it needs with Messages.Changes. An event may be delivered
// more than once or coalesced, but never lost for a live subscription.
type Feed interface {
	// Subscribe delivers an event for every committed change to any
	// mailbox of the account. The channel is buffered; when a slow reader
	// lets it fill, events are coalesced (the latest modseq of a mailbox is
	// always delivered). Cancel stops delivery and closes the channel.
	Subscribe(account AccountID) (events <-chan Event, cancel func())
}

// Locker provides exclusive locks that span sessions (and, for a shared
// database, nodes), such as POP3's maildrop lock.
type Locker interface {
	// TryLock takes the named lock, or returns ErrLocked at once if it is
	// held. The returned function releases it.
	TryLock(ctx context.Context, name string) (unlock func(), err error)
}
