// Package ops is the one implementation of mailhouse's admin operations
// (domains, accounts, aliases, API tokens), shared by the admin console,
// its JSON API and the CLI, so that all three check input the same way
// and every change lands in the audit log with who made it.
//
// Input is taken as people type it (mixed case, U-label domains) and
// normalised here. Failures are *Error values with a stable code that the
// API returns as JSON and the console and CLI show as text.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"mailhouse/internal/auth"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// MinPasswordLength is the shortest password an admin may set.
const MinPasswordLength = 8

// Error codes.
const (
	CodeBadRequest    = "bad_request"
	CodeBadAddress    = "bad_address"
	CodeBadDomain     = "bad_domain"
	CodeUnknownDomain = "unknown_domain"
	CodeNotFound      = "not_found"
	CodeExists        = "exists"
	CodeNotEmpty      = "not_empty"
	CodeWeakPassword  = "weak_password"
	CodeUnknownTarget = "unknown_target"
	CodeAliasLoop     = "alias_loop"
	CodeNotAllowed    = "not_allowed"
	CodeInternal      = "internal"
)

// Error is a failure to show to the admin.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, for logs; may be nil
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func fail(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping unexpected ones as internal
// (their text is not shown: it may name files or SQL).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// Ops performs admin operations as one actor.
type Ops struct {
	Store store.Store
	// Admin is the store's flags/audit part; nil disables flags, tokens
	// and auditing (every call that needs it fails).
	Admin store.Admin
	// Hash hashes new passwords; nil uses auth.DefaultParams.
	Hash func(password string) (string, error)
	// Actor names who acts, for the audit log: "admin:alice@example.com",
	// "api:panel", "cli:root".
	Actor string
	// Self is the acting account's address, if any: it may not delete,
	// disable or demote itself (so that the last admin cannot lock all
	// out by mistake).
	Self string
	// AccountChanged is called after an account's password, flags or
	// existence changed, so that the console can end its sessions.
	AccountChanged func(store.AccountID)
	Logger         *slog.Logger
}

// New returns Ops for a store (its store.Admin part is used if present).
func New(st store.Store, actor string) *Ops {
	o := &Ops{Store: st, Actor: actor}
	o.Admin, _ = st.(store.Admin)
	return o
}

// As returns a copy acting as another actor.
func (o *Ops) As(actor, self string) *Ops {
	c := *o
	c.Actor, c.Self = actor, self
	return &c
}

func (o *Ops) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// audit records a change that has been made. A failure to record is
// logged and returned: the change itself stands.
func (o *Ops) audit(ctx context.Context, action, target, detail string) error {
	o.log().Info("admin change", "actor", o.Actor, "action", action, "target", target, "detail", detail)
	if o.Admin == nil {
		return nil
	}
	if err := o.Admin.AddAudit(ctx, store.AuditEntry{Actor: o.Actor, Action: action, Target: target, Detail: detail}); err != nil {
		o.log().Error("audit log write failed", "action", action, "target", target, "err", err)
		return &Error{Code: CodeInternal, Message: "the change was made but could not be recorded in the audit log", Err: err}
	}
	return nil
}

func (o *Ops) needAdmin() error {
	if o.Admin == nil {
		return fail(CodeInternal, "this store keeps no admin flags or audit log")
	}
	return nil
}

func (o *Ops) hash(pw string) (string, error) {
	if o.Hash != nil {
		return o.Hash(pw)
	}
	return auth.HashPassword(pw, auth.DefaultParams)
}

func (o *Ops) changed(id store.AccountID) {
	if o.AccountChanged != nil {
		o.AccountChanged(id)
	}
}

// domainArg normalises a domain typed by a person.
func domainArg(d string) (string, error) {
	d = strings.TrimSpace(d)
	if d == "" {
		return "", fail(CodeBadDomain, "no domain given")
	}
	n, err := directory.NormalizeDomain(d)
	if err != nil {
		return "", &Error{Code: CodeBadDomain, Message: fmt.Sprintf("%q is not a domain name", d), Err: err}
	}
	return n, nil
}

// addressArg normalises an address typed by a person.
func addressArg(a string) (string, error) {
	a = strings.TrimSpace(a)
	n, err := directory.Normalize(a)
	if err != nil {
		return "", &Error{Code: CodeBadAddress, Message: fmt.Sprintf("%q is a malformed address (expected name@domain)", a), Err: err}
	}
	return n, nil
}

// aliasArg normalises an alias address: an address or "@domain".
func aliasArg(a string) (string, error) {
	a = strings.TrimSpace(a)
	if rest, ok := strings.CutPrefix(a, "@"); ok {
		d, err := domainArg(rest)
		if err != nil {
			return "", &Error{Code: CodeBadAddress, Message: fmt.Sprintf("%q is not an address or @domain", a), Err: err}
		}
		return "@" + d, nil
	}
	return addressArg(a)
}

func domainOf(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// storeErr maps a store error about what to an *Error.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: what + " not found", Err: err}
	case errors.Is(err, store.ErrExists):
		return &Error{Code: CodeExists, Message: what + " already exists", Err: err}
	case errors.Is(err, store.ErrNotEmpty):
		return &Error{Code: CodeNotEmpty, Message: what + " is not empty: delete its accounts and aliases first", Err: err}
	case errors.Is(err, store.ErrNotAllowed):
		return &Error{Code: CodeNotAllowed, Message: what + ": not allowed", Err: err}
	}
	return AsError(err)
}

// hostedDomain checks that a domain is hosted, for operations inside it.
func (o *Ops) hostedDomain(ctx context.Context, d string) error {
	if _, err := o.Store.GetDomain(ctx, d); errors.Is(err, store.ErrNotFound) {
		return fail(CodeUnknownDomain, "domain %s is not hosted here", directory.DisplayDomain(d))
	} else if err != nil {
		return AsError(err)
	}
	return nil
}
