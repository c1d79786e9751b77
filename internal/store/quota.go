package store

import (
	"context"
	"errors"
	"time"
)

// Limits is what quotas, retention and login blocking keep beyond the
// directory: per-domain storage totals, which quota warnings an account
// was sent, retention rules, and blocked client addresses. A store
// implements it beside Store; callers type-assert (st.(store.Limits)).
type Limits interface {
	// SetDomainQuota sets the most bytes all accounts of a domain may
	// hold together; 0 means unlimited.
	SetDomainQuota(ctx context.Context, domain string, bytes int64) error
	// DomainQuota returns a domain's total limit (0: unlimited) and the
	// use of all its accounts.
	DomainQuota(ctx context.Context, domain string) (limit int64, used Usage, err error)
	// QuotaWarned returns the highest warning level (a percentage, 0 for
	// none) the account was last sent.
	QuotaWarned(ctx context.Context, account AccountID) (int, error)
	// SetQuotaWarned records the warning level sent (0 resets it).
	SetQuotaWarned(ctx context.Context, account AccountID, percent int) error

	// SetRetention adds or replaces a rule (same Domain, Account and
	// Folder); a rule with Days 0 is removed.
	SetRetention(ctx context.Context, r RetentionRule) error
	// ListRetention lists every rule.
	ListRetention(ctx context.Context) ([]RetentionRule, error)
	// ExpiredUIDs returns up to limit UIDs of messages in the mailbox
	// whose internal date is before the cut, ascending.
	ExpiredUIDs(ctx context.Context, mailbox MailboxID, before time.Time, limit int) ([]UID, error)

	// AddBlock records (or extends) a block.
	AddBlock(ctx context.Context, b Block) error
	// GetBlock returns the block of key (whether or not still in force),
	// or ErrNotFound.
	GetBlock(ctx context.Context, key string) (Block, error)
	// ListBlocks lists the blocks still in force at now, by key.
	ListBlocks(ctx context.Context, now time.Time) ([]Block, error)
	// ClearBlocks removes the block of key, or every block when key is
	// empty; it returns how many it removed.
	ClearBlocks(ctx context.Context, key string) (int, error)
}

// RetentionRule says how long messages stay in a folder. The most
// specific rule wins: account, then domain, then server-wide (both
// empty).
type RetentionRule struct {
	Domain  string // "" for every domain
	Account string // an address, or "" for the domain / server
	// Folder is a special-use attribute (`\Trash`) or a mailbox name
	// ("INBOX").
	Folder string
	Days   int
}

// Block is a refusal of logins from a client address or network
// ("ip:192.0.2.1", "net:2001:db8::/64") or for an account
// ("acct:alice@example.com").
type Block struct {
	Key     string
	Until   time.Time
	Reason  string
	Created time.Time
}

// ErrOverQuota: storing the message would exceed the account's (or its
// domain's) storage quota. Protocols map it to a temporary "mailbox
// full" reply (SMTP 452 4.2.2, IMAP NO [OVERQUOTA]).
var ErrOverQuota = errors.New("mailbox full: storage quota exceeded")
