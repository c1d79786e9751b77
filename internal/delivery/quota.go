package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailhouse/internal/store"
)

// Quotas. An account's storage limit is its own Account.QuotaBytes, or
// Options.DefaultQuota when that is 0; a domain may also have a total
// for all its accounts (store.Limits.SetDomainQuota). Every way mail gets
// in checks them here: SMTP at RCPT (CheckQuota with the SIZE hint) and
// at DATA (Deliver), IMAP APPEND/COPY/MOVE and webmail (CheckQuota,
// Append). Two deliveries to one account at the same moment may together
// go over by one message: the check and the write are not one
// transaction, as in most servers.

// Quota returns the account's effective limits and use: the limit in
// bytes is the account's own or the server default (0: unlimited).
// IMAP GETQUOTAROOT (RFC 9208) and the webmail report it.
func (d *Deliverer) Quota(ctx context.Context, acct store.AccountID) (store.Quota, error) {
	var q store.Quota
	if sy, ok := d.o.Store.(store.Sync); ok {
		var err error
		if q, err = sy.Quota(ctx, acct); err != nil {
			return q, err
		}
	} else {
		a, err := d.o.Store.GetAccountByID(ctx, acct)
		if err != nil {
			return q, err
		}
		if q.Usage, err = d.o.Store.AccountUsage(ctx, acct); err != nil {
			return q, err
		}
		q.LimitBytes = a.QuotaBytes
	}
	if q.LimitBytes == 0 {
		q.LimitBytes = d.o.DefaultQuota
	}
	return q, nil
}

// CheckQuota returns an error wrapping store.ErrOverQuota when adding
// messages of the given total size would take the account, or its
// domain, over its storage limit (or the account over its message
// limit).
func (d *Deliverer) CheckQuota(ctx context.Context, acct store.Account, messages int, bytes int64) error {
	a, err := d.readQuota(ctx, acct)
	if err != nil {
		return err
	}
	return a.check(messages, bytes)
}

// Admission is an account's quota as read when one of its addresses was
// accepted as a recipient (SMTP RCPT). Handed back to Deliver in
// Envelope.Admitted, it spares Deliver reading the same figures again a
// moment later: Deliver checks the message's real size against it as
// long as it is younger than admissionMaxAge.
type Admission struct {
	acct   store.Account
	quota  store.Quota
	domain store.Usage // the domain's use, when domainLimit > 0
	// domainLimit is the domain's limit (0: none).
	domainLimit int64
	read        time.Time
}

// admissionMaxAge bounds how stale the figures Deliver checks against may
// be. Deliveries to one account at the same moment can already together
// go over by a message (see the top of this file); a reused reading
// widens that window by at most this much, not by a slow client's
// transfer time.
const admissionMaxAge = time.Second

// Admit is CheckQuota for a recipient of incoming mail (SMTP RCPT); it
// also returns the figures it checked, for Envelope.Admitted. An account
// found without any limit (its own, the default, a message limit or its
// domain's) is taken to still have none for Options.CacheTTL without
// reading again: a quota an admin sets applies to incoming mail within
// that time (and at once to CheckQuota, which always reads).
func (d *Deliverer) Admit(ctx context.Context, acct store.Account, messages int, bytes int64) (Admission, error) {
	if _, ok := d.cache.unlimited.get(acct.ID); ok {
		return Admission{acct: acct, read: time.Now()}, nil
	}
	a, err := d.readQuota(ctx, acct)
	if err != nil {
		return a, err
	}
	if a.quota.LimitBytes <= 0 && a.quota.LimitMessages <= 0 && a.domainLimit <= 0 {
		d.cache.unlimited.put(acct.ID, struct{}{})
	}
	return a, a.check(messages, bytes)
}

// readQuota reads an account's quota and its domain's.
func (d *Deliverer) readQuota(ctx context.Context, acct store.Account) (Admission, error) {
	a := Admission{acct: acct, read: time.Now()}
	var err error
	if a.quota, err = d.Quota(ctx, acct.ID); err != nil {
		return a, err
	}
	if d.o.Limits != nil && acct.Domain != "" {
		if a.domainLimit, a.domain, err = d.o.Limits.DomainQuota(ctx, acct.Domain); err != nil {
			return a, err
		}
	}
	return a, nil
}

// check says whether messages of bytes more fit in the figures read.
func (a Admission) check(messages int, bytes int64) error {
	q, acct := a.quota, a.acct
	if q.LimitBytes > 0 && q.Usage.Bytes+bytes > q.LimitBytes {
		return fmt.Errorf("%s: %d of %d bytes used, %d more: %w", acct.Address, q.Usage.Bytes, q.LimitBytes, bytes, store.ErrOverQuota)
	}
	if q.LimitMessages > 0 && int64(q.Usage.Messages)+int64(messages) > q.LimitMessages {
		return fmt.Errorf("%s: %d of %d messages: %w", acct.Address, q.Usage.Messages, q.LimitMessages, store.ErrOverQuota)
	}
	if a.domainLimit > 0 && a.domain.Bytes+bytes > a.domainLimit {
		return fmt.Errorf("domain %s: %d of %d bytes used, %d more: %w", acct.Domain, a.domain.Bytes, a.domainLimit, bytes, store.ErrOverQuota)
	}
	return nil
}

// quotaCheck is one account's quota read before a delivery, kept to
// decide on warnings afterwards without reading it again.
type quotaCheck struct {
	acct  store.Account
	quota store.Quota
	bytes int64
}

// admit checks one account before a delivery of bytes to it, against a
// recent Admission of that account when one is given, else against
// figures read now.
func (d *Deliverer) admit(ctx context.Context, acct store.Account, bytes int64, recent []Admission) (quotaCheck, error) {
	var a Admission
	found := false
	for _, r := range recent {
		if r.acct.ID == acct.ID && time.Since(r.read) < admissionMaxAge {
			a, found = r, true
			break
		}
	}
	if !found {
		var err error
		if a, err = d.readQuota(ctx, acct); err != nil {
			return quotaCheck{}, err
		}
	}
	if err := a.check(1, bytes); err != nil {
		return quotaCheck{}, err
	}
	return quotaCheck{acct: acct, quota: a.quota, bytes: bytes}, nil
}

// warn sends the quota warnings due after a delivery: one message per
// level of Options.QuotaWarnings crossed, once each (the level sent is
// remembered in the store, and forgotten when use falls below it so that
// the next crossing warns again). Failures are logged, never returned:
// the delivery itself succeeded.
func (d *Deliverer) warn(ctx context.Context, c quotaCheck) {
	lim := d.o.Limits
	if lim == nil || c.quota.LimitBytes <= 0 || len(d.o.QuotaWarnings) == 0 {
		return
	}
	used := c.quota.Usage.Bytes + c.bytes
	pct := int(used * 100 / c.quota.LimitBytes)
	level := 0
	for _, w := range d.o.QuotaWarnings {
		if pct >= w && w > level {
			level = w
		}
	}
	sent, err := lim.QuotaWarned(ctx, c.acct.ID)
	if err != nil || level == sent {
		if err != nil {
			d.o.Logger.Error("quota warning: reading state", "user", c.acct.Address, "err", err)
		}
		return
	}
	if level > sent {
		if err := d.sendWarning(ctx, c.acct, used, c.quota.LimitBytes, level); err != nil {
			d.o.Logger.Error("quota warning: delivery failed", "user", c.acct.Address, "err", err)
			return
		}
		d.o.Logger.Info("quota warning sent", "user", c.acct.Address, "percent", level, "used", used, "limit", c.quota.LimitBytes)
	}
	if err := lim.SetQuotaWarned(ctx, c.acct.ID, level); err != nil {
		d.o.Logger.Error("quota warning: saving state", "user", c.acct.Address, "err", err)
	}
}

// sendWarning stores the warning in the account's INBOX; it is not
// counted against the quota (the user must learn the mailbox is full).
func (d *Deliverer) sendWarning(ctx context.Context, acct store.Account, used, limit int64, level int) error {
	mb, err := d.o.Store.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return err
	}
	now := d.o.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail system <postmaster@%s>\r\n", acct.Domain)
	fmt.Fprintf(&b, "To: <%s>\r\n", acct.Address)
	fmt.Fprintf(&b, "Subject: Your mailbox is %d%% full\r\n", level)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <quota-%d-%d-%d@%s>\r\n", acct.ID, level, now.UnixNano(), acct.Domain)
	b.WriteString("Auto-Submitted: auto-generated\r\n") // RFC 3834 §5
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, "Your mailbox %s uses %s of its %s (%d%%).\r\n\r\n", acct.Address, human(used), human(limit), used*100/limit)
	b.WriteString("When it is full, new mail is refused and senders are told to try\r\n")
	b.WriteString("again later. Delete old messages, and empty the Trash and Junk\r\n")
	b.WriteString("folders, to make room.\r\n")
	data := []byte(b.String())
	del := store.Delivery{Body: data, Targets: []store.Target{{Mailbox: mb.ID, InternalDate: now}}}
	if d.o.Analyze != nil {
		del.Parsed = d.o.Analyze(data)
	}
	_, err = d.o.Store.Deliver(ctx, del)
	return err
}

// human writes a size for people: "1.5 MB".
func human(n int64) string {
	units := []string{"bytes", "KB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// warnLevels normalises Options.QuotaWarnings: ascending, no duplicates.
func warnLevels(w []int) []int {
	w = slices.Clone(w)
	slices.Sort(w)
	return slices.Compact(w)
}
