package store

import (
	"context"
	"time"
)

// Admin is what the admin console, its JSON API and the admin CLI keep
// beyond the directory: account flags, the audit log and API tokens. A
// store implements it beside Store; callers type-assert
// (st.(store.Admin)).
type Admin interface {
	// SetAdmin grants or revokes admin rights (the console and API).
	SetAdmin(ctx context.Context, address string, admin bool) error
	// SetDisabled disables or enables an account: a disabled account
	// keeps its mail but cannot log in.
	SetDisabled(ctx context.Context, address string, disabled bool) error
	// AccountFlags returns an account's flags (zero for one never
	// flagged), or ErrNotFound when there is no such account.
	AccountFlags(ctx context.Context, address string) (AccountFlags, error)
	// ListAccountFlags returns the flags of every account that has one
	// set, by account.
	ListAccountFlags(ctx context.Context) (map[AccountID]AccountFlags, error)

	// AddAudit appends an entry to the audit log (ID and, if zero, Time
	// are set by the store).
	AddAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns up to limit entries, newest first; with before >
	// 0, only entries whose ID is below it (the next page).
	ListAudit(ctx context.Context, before int64, limit int) ([]AuditEntry, error)

	// AddToken stores an API token (ID and Created are set by the store).
	AddToken(ctx context.Context, t APIToken) (APIToken, error)
	// GetToken returns one token, or ErrNotFound.
	GetToken(ctx context.Context, id int64) (APIToken, error)
	// ListTokens lists tokens by ID.
	ListTokens(ctx context.Context) ([]APIToken, error)
	// DeleteToken revokes a token, or returns ErrNotFound.
	DeleteToken(ctx context.Context, id int64) error
}

// AccountFlags are an account's admin-set flags.
type AccountFlags struct {
	Admin    bool
	Disabled bool
}

// AuditEntry records one change made through the console, the API or
// the CLI: who changed what, when.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	Actor  string // "admin:alice@example.com", "api:panel", "cli:root"
	Action string // "account.add", "alias.delete", ...
	Target string // the address or domain changed
	Detail string // extra facts (never a password)
}

// APIToken is a bearer token for the admin JSON API. Only the SHA-256 of
// its secret is stored.
type APIToken struct {
	ID        int64
	Name      string
	Hash      []byte // SHA-256 of the secret part
	Created   time.Time
	CreatedBy string
}
