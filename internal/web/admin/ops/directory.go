package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/directory"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/store"
)

// DomainInfo is a domain with its counts.
type DomainInfo struct {
	Name     string // A-label
	Display  string // U-label
	Accounts int
	Aliases  int
	Created  time.Time
}

// AccountInfo is an account as admins see it (never its password hash).
type AccountInfo struct {
	ID         store.AccountID
	Address    string
	Display    string
	Domain     string
	QuotaBytes int64
	UsedBytes  int64
	Messages   int64
	Admin      bool
	Disabled   bool
	Created    time.Time
}

// AddDomain adds a hosted domain.
func (o *Ops) AddDomain(ctx context.Context, name string) (DomainInfo, error) {
	d, err := domainArg(name)
	if err != nil {
		return DomainInfo{}, err
	}
	dom, err := o.Store.AddDomain(ctx, d)
	if err != nil {
		return DomainInfo{}, storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	// Every domain signs its outgoing mail from the start (Ed25519 and
	// RSA-2048 selectors; `domain dns` prints their records).
	if _, err := mailauth.GenerateKeys(ctx, o.Store, d, time.Now()); err != nil {
		return DomainInfo{}, fmt.Errorf("domain %s added, but making its DKIM keys failed: %w", directory.DisplayDomain(d), err)
	}
	return DomainInfo{Name: dom.Name, Display: directory.DisplayDomain(dom.Name), Created: dom.Created}, o.audit(ctx, "domain.add", d, "")
}

// DeleteDomain deletes a domain without accounts or aliases.
func (o *Ops) DeleteDomain(ctx context.Context, name string) error {
	d, err := domainArg(name)
	if err != nil {
		return err
	}
	if err := o.Store.DeleteDomain(ctx, d); err != nil {
		return storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	return o.audit(ctx, "domain.delete", d, "")
}

// GetDomain returns one domain with its counts.
func (o *Ops) GetDomain(ctx context.Context, name string) (DomainInfo, error) {
	d, err := domainArg(name)
	if err != nil {
		return DomainInfo{}, err
	}
	dom, err := o.Store.GetDomain(ctx, d)
	if err != nil {
		return DomainInfo{}, storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	return o.domainInfo(ctx, dom)
}

func (o *Ops) domainInfo(ctx context.Context, dom store.Domain) (DomainInfo, error) {
	accts, err := o.Store.ListAccounts(ctx, dom.Name)
	if err != nil {
		return DomainInfo{}, AsError(err)
	}
	als, err := o.Store.ListAliases(ctx, dom.Name)
	if err != nil {
		return DomainInfo{}, AsError(err)
	}
	return DomainInfo{Name: dom.Name, Display: directory.DisplayDomain(dom.Name), Accounts: len(accts), Aliases: len(als), Created: dom.Created}, nil
}

// ListDomains lists hosted domains with their counts.
func (o *Ops) ListDomains(ctx context.Context) ([]DomainInfo, error) {
	ds, err := o.Store.ListDomains(ctx)
	if err != nil {
		return nil, AsError(err)
	}
	out := make([]DomainInfo, 0, len(ds))
	for _, d := range ds {
		di, err := o.domainInfo(ctx, d)
		if err != nil {
			return nil, err
		}
		out = append(out, di)
	}
	return out, nil
}

// NewAccount is what AddAccount takes.
type NewAccount struct {
	Address string
	// Password is the new password; empty generates one (returned).
	Password   string
	QuotaBytes int64
	Admin      bool
}

// checkPassword enforces the password policy.
func checkPassword(pw string) error {
	if len(pw) < MinPasswordLength {
		return fail(CodeWeakPassword, "the password must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return fail(CodeWeakPassword, "the password is longer than 1024 characters")
	}
	return nil
}

// AddAccount creates an account. It returns the password when it
// generated one (to show once).
func (o *Ops) AddAccount(ctx context.Context, n NewAccount) (AccountInfo, string, error) {
	addr, err := addressArg(n.Address)
	if err != nil {
		return AccountInfo{}, "", err
	}
	if n.QuotaBytes < 0 {
		return AccountInfo{}, "", fail(CodeBadRequest, "the quota must not be negative")
	}
	if n.Admin {
		if err := o.needAdmin(); err != nil {
			return AccountInfo{}, "", err
		}
	}
	generated := ""
	if n.Password == "" {
		n.Password = auth.GeneratePassword()
		generated = n.Password
	} else if err := checkPassword(n.Password); err != nil {
		return AccountInfo{}, "", err
	}
	if err := o.hostedDomain(ctx, domainOf(addr)); err != nil {
		return AccountInfo{}, "", err
	}
	if _, err := o.Store.GetAlias(ctx, addr); err == nil {
		return AccountInfo{}, "", fail(CodeExists, "%s is already an alias", directory.DisplayAddress(addr))
	}
	hash, err := o.hash(n.Password)
	if err != nil {
		return AccountInfo{}, "", AsError(err)
	}
	acct, err := o.Store.AddAccount(ctx, store.NewAccount{Address: addr, PasswordHash: hash, QuotaBytes: n.QuotaBytes})
	if err != nil {
		return AccountInfo{}, "", storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	detail := fmt.Sprintf("quota=%d", n.QuotaBytes)
	if n.Admin {
		if err := o.Admin.SetAdmin(ctx, addr, true); err != nil {
			return AccountInfo{}, "", AsError(err)
		}
		detail += " admin"
	}
	if err := o.audit(ctx, "account.add", addr, detail); err != nil {
		return AccountInfo{}, "", err
	}
	info, err := o.GetAccount(ctx, acct.Address)
	return info, generated, err
}

// GetAccount returns one account with its usage and flags.
func (o *Ops) GetAccount(ctx context.Context, address string) (AccountInfo, error) {
	addr, err := addressArg(address)
	if err != nil {
		return AccountInfo{}, err
	}
	a, err := o.Store.GetAccount(ctx, addr)
	if err != nil {
		return AccountInfo{}, storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	var flags store.AccountFlags
	if o.Admin != nil {
		if flags, err = o.Admin.AccountFlags(ctx, addr); err != nil {
			return AccountInfo{}, storeErr(err, "account "+directory.DisplayAddress(addr))
		}
	}
	return o.accountInfo(ctx, a, flags)
}

func (o *Ops) accountInfo(ctx context.Context, a store.Account, f store.AccountFlags) (AccountInfo, error) {
	u, err := o.Store.AccountUsage(ctx, a.ID)
	if err != nil {
		return AccountInfo{}, AsError(err)
	}
	return AccountInfo{
		ID: a.ID, Address: a.Address, Display: directory.DisplayAddress(a.Address), Domain: a.Domain,
		QuotaBytes: a.QuotaBytes, UsedBytes: u.Bytes, Messages: int64(u.Messages),
		Admin: f.Admin, Disabled: f.Disabled, Created: a.Created,
	}, nil
}

// ListAccounts lists the accounts of a domain, or of all when domain is
// empty.
func (o *Ops) ListAccounts(ctx context.Context, domain string) ([]AccountInfo, error) {
	d := ""
	if strings.TrimSpace(domain) != "" {
		var err error
		if d, err = domainArg(domain); err != nil {
			return nil, err
		}
		if err := o.hostedDomain(ctx, d); err != nil {
			return nil, err
		}
	}
	as, err := o.Store.ListAccounts(ctx, d)
	if err != nil {
		return nil, AsError(err)
	}
	flags := map[store.AccountID]store.AccountFlags{}
	if o.Admin != nil {
		if flags, err = o.Admin.ListAccountFlags(ctx); err != nil {
			return nil, AsError(err)
		}
	}
	out := make([]AccountInfo, 0, len(as))
	for _, a := range as {
		info, err := o.accountInfo(ctx, a, flags[a.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// notSelf refuses an action on the acting account itself.
func (o *Ops) notSelf(addr, what string) error {
	if o.Self != "" && o.Self == addr {
		return fail(CodeNotAllowed, "you cannot %s your own account here", what)
	}
	return nil
}

// DeleteAccount deletes an account with all its mail.
func (o *Ops) DeleteAccount(ctx context.Context, address string) error {
	addr, err := addressArg(address)
	if err != nil {
		return err
	}
	if err := o.notSelf(addr, "delete"); err != nil {
		return err
	}
	a, err := o.Store.GetAccount(ctx, addr)
	if err != nil {
		return storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	u, _ := o.Store.AccountUsage(ctx, a.ID)
	if err := o.Store.DeleteAccount(ctx, addr); err != nil {
		return storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	o.changed(a.ID)
	return o.audit(ctx, "account.delete", addr, fmt.Sprintf("messages=%d bytes=%d", u.Messages, u.Bytes))
}

// SetPassword sets an account's password; empty generates one
// (returned).
func (o *Ops) SetPassword(ctx context.Context, address, password string) (string, error) {
	addr, err := addressArg(address)
	if err != nil {
		return "", err
	}
	generated := ""
	if password == "" {
		password = auth.GeneratePassword()
		generated = password
	} else if err := checkPassword(password); err != nil {
		return "", err
	}
	a, err := o.Store.GetAccount(ctx, addr)
	if err != nil {
		return "", storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	hash, err := o.hash(password)
	if err != nil {
		return "", AsError(err)
	}
	if err := o.Store.SetPassword(ctx, addr, hash); err != nil {
		return "", storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	o.changed(a.ID)
	return generated, o.audit(ctx, "account.password", addr, "")
}

// SetQuota sets an account's quota in bytes (0: the server default).
func (o *Ops) SetQuota(ctx context.Context, address string, quota int64) error {
	addr, err := addressArg(address)
	if err != nil {
		return err
	}
	if quota < 0 {
		return fail(CodeBadRequest, "the quota must not be negative")
	}
	if err := o.Store.SetQuota(ctx, addr, quota); err != nil {
		return storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	return o.audit(ctx, "account.quota", addr, fmt.Sprintf("quota=%d", quota))
}

// SetDisabled disables (no login, mail kept) or enables an account.
func (o *Ops) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return o.setAccountFlag(ctx, address, accountFlag{
		on: disabled, refuseSelf: disabled, selfVerb: "disable",
		set: o.Admin.SetDisabled, onAction: "account.disable", offAction: "account.enable",
	})
}

// SetAdmin grants or revokes admin rights.
func (o *Ops) SetAdmin(ctx context.Context, address string, admin bool) error {
	return o.setAccountFlag(ctx, address, accountFlag{
		on: admin, refuseSelf: !admin, selfVerb: "remove admin rights from",
		set: o.Admin.SetAdmin, onAction: "account.admin.grant", offAction: "account.admin.revoke",
	})
}

// accountFlag describes one on/off switch of an account for setAccountFlag.
type accountFlag struct {
	on         bool
	refuseSelf bool   // the acting admin may not do this to their own account
	selfVerb   string // for the refusal: "you cannot <verb> your own account"
	set        func(ctx context.Context, addr string, on bool) error
	onAction   string // audit action when switched on
	offAction  string // audit action when switched off
}

// setAccountFlag checks, changes, announces and audits one switch.
func (o *Ops) setAccountFlag(ctx context.Context, address string, f accountFlag) error {
	addr, err := addressArg(address)
	if err != nil {
		return err
	}
	if err := o.needAdmin(); err != nil {
		return err
	}
	if f.refuseSelf {
		if err := o.notSelf(addr, f.selfVerb); err != nil {
			return err
		}
	}
	a, err := o.Store.GetAccount(ctx, addr)
	if err != nil {
		return storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	if err := f.set(ctx, addr, f.on); err != nil {
		return storeErr(err, "account "+directory.DisplayAddress(addr))
	}
	o.changed(a.ID)
	action := f.offAction
	if f.on {
		action = f.onAction
	}
	return o.audit(ctx, action, addr, "")
}

// AddAlias adds an alias (address or "@domain" catch-all) delivering to
// local accounts, other aliases or external addresses.
func (o *Ops) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	addr, err := aliasArg(address)
	if err != nil {
		return store.Alias{}, err
	}
	var ts []string
	for _, t := range targets {
		if strings.TrimSpace(t) == "" {
			continue
		}
		nt, err := addressArg(t)
		if err != nil {
			return store.Alias{}, err
		}
		ts = append(ts, nt)
	}
	if len(ts) == 0 {
		return store.Alias{}, fail(CodeBadRequest, "an alias needs at least one target address")
	}
	if len(ts) > 1000 {
		return store.Alias{}, fail(CodeBadRequest, "an alias may have at most 1000 targets")
	}
	if err := o.hostedDomain(ctx, domainOf(addr)); err != nil {
		return store.Alias{}, err
	}
	a := store.Alias{Address: addr, Targets: ts}
	if _, err := o.Store.GetAccount(ctx, addr); err == nil {
		return store.Alias{}, fail(CodeExists, "%s is already an account", directory.DisplayAddress(addr))
	}
	if _, err := o.Store.GetAlias(ctx, addr); err == nil {
		return store.Alias{}, fail(CodeExists, "alias %s already exists", directory.DisplayAddress(addr))
	}
	r := &directory.Resolver{Dir: o.Store}
	if err := r.ValidateAlias(ctx, a); err != nil {
		switch {
		case errors.Is(err, directory.ErrUnknownUser):
			return store.Alias{}, &Error{Code: CodeUnknownTarget, Message: "a target in a hosted domain does not exist: " + err.Error(), Err: err}
		case errors.Is(err, directory.ErrLoop):
			return store.Alias{}, &Error{Code: CodeAliasLoop, Message: "the alias would loop or nest too deep: " + err.Error(), Err: err}
		case errors.Is(err, directory.ErrBadAddress):
			return store.Alias{}, &Error{Code: CodeBadAddress, Message: err.Error(), Err: err}
		}
		return store.Alias{}, AsError(err)
	}
	if err := o.Store.AddAlias(ctx, a); err != nil {
		return store.Alias{}, storeErr(err, "alias "+directory.DisplayAddress(addr))
	}
	return a, o.audit(ctx, "alias.add", addr, "targets="+strings.Join(ts, ","))
}

// GetAlias returns one alias.
func (o *Ops) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	addr, err := aliasArg(address)
	if err != nil {
		return store.Alias{}, err
	}
	a, err := o.Store.GetAlias(ctx, addr)
	return a, storeErr(err, "alias "+directory.DisplayAddress(addr))
}

// DeleteAlias deletes an alias.
func (o *Ops) DeleteAlias(ctx context.Context, address string) error {
	addr, err := aliasArg(address)
	if err != nil {
		return err
	}
	if err := o.Store.DeleteAlias(ctx, addr); err != nil {
		return storeErr(err, "alias "+directory.DisplayAddress(addr))
	}
	return o.audit(ctx, "alias.delete", addr, "")
}

// ListAliases lists the aliases of a domain, or of all when domain is
// empty.
func (o *Ops) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	d := ""
	if strings.TrimSpace(domain) != "" {
		var err error
		if d, err = domainArg(domain); err != nil {
			return nil, err
		}
		if err := o.hostedDomain(ctx, d); err != nil {
			return nil, err
		}
	}
	as, err := o.Store.ListAliases(ctx, d)
	return as, AsError0(err)
}

// AsError0 is AsError that keeps nil.
func AsError0(err error) error {
	if err == nil {
		return nil
	}
	return AsError(err)
}
