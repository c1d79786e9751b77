// Package delivery is the one way mail enters the store: it resolves
// recipients through the directory, stores a message body once for all
// its local recipients in one transaction (each copy with its own
// Return-Path / Delivered-To prefix), and hands external forwards to the
// outbound queue.
//
// SMTP, webmail sending, IMAP APPEND and import all use it; none of them
// writes message rows itself. It does not speak any protocol.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// ErrNoQueue: a recipient forwards to an external address but outbound
// delivery is not available. Callers report it as a temporary failure.
var ErrNoQueue = errors.New("external forwarding is not available yet")

// ErrDisabled: the recipient's account is disabled and
// Options.DisabledRefusesMail is set. SMTP answers 550 5.2.1 (RFC 3463
// X.2.1 "mailbox disabled, not accepting messages").
var ErrDisabled = errors.New("mailbox disabled, not accepting messages")

// Queue takes messages for external recipients. It must store them
// durably before returning nil.
type Queue interface {
	Enqueue(ctx context.Context, from string, to []string, data []byte) error
}

// Options configure a Deliverer.
type Options struct {
	Store    store.Store
	Resolver *directory.Resolver
	// Analyze computes the structure stored beside a body
	// (store.Delivery.Parsed); nil stores none.
	Analyze func(body []byte) []byte
	// Queue takes external forwards; nil refuses them with ErrNoQueue.
	Queue  Queue
	Logger *slog.Logger
	Now    func() time.Time
	// Observe, if set, is told the outcome of every Deliver and Append,
	// for metrics. It must not block.
	Observe func(Observation)

	// DefaultQuota is the storage limit of accounts without their own
	// (config quota.default_bytes); 0 means unlimited.
	DefaultQuota int64
	// Limits holds domain quotas and the warnings sent; nil means the
	// Store's own when it implements store.Limits.
	Limits store.Limits
	// QuotaWarnings are the percentages of the limit at which the user
	// is sent a warning, once each; nil means 80 and 95.
	QuotaWarnings []int
	// DisabledRefusesMail (config abuse.disabled_refuses_mail) makes
	// Resolve refuse a disabled account's mail with ErrDisabled; by
	// default a disabled account keeps receiving.
	DisabledRefusesMail bool
	// CacheTTL is how long Resolve may reuse a successful resolution of
	// an address, and Admit the finding that an account has no quota at
	// all (default 1 s; negative: never): how long an admin's change to
	// aliases, accounts and quotas may take to reach incoming mail.
	CacheTTL time.Duration
}

// Observation is one Deliver or Append, as Options.Observe sees it.
type Observation struct {
	Op       string // "deliver" or "append"
	Local    int    // copies stored in local mailboxes
	Queued   int    // external recipients handed to the queue
	Bytes    int    // the message's size
	Duration time.Duration
	Err      error
}

// Deliverer delivers messages. It is safe for concurrent use.
type Deliverer struct {
	o     Options
	cache *caches
}

// New returns a Deliverer.
func New(o Options) *Deliverer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == nil {
		o.Limits, _ = o.Store.(store.Limits)
	}
	if o.QuotaWarnings == nil {
		o.QuotaWarnings = []int{80, 95}
	}
	o.QuotaWarnings = warnLevels(o.QuotaWarnings)
	if o.CacheTTL == 0 {
		o.CacheTTL = defaultCacheTTL
	}
	return &Deliverer{o: o, cache: newCaches(o.CacheTTL)}
}

// Resolve resolves one recipient address (see directory.Resolver.Resolve).
// SMTP calls it at RCPT time so that unknown users are refused there.
// A recipient that needs external forwarding while no queue is
// configured gives ErrNoQueue.
func (d *Deliverer) Resolve(ctx context.Context, addr string) (directory.Resolution, error) {
	res, ok := d.cache.resolution(addr)
	var err error
	if !ok {
		if res, err = d.o.Resolver.Resolve(ctx, addr); err != nil {
			return res, err
		}
		d.cache.putResolution(addr, res)
	}
	if d.o.DisabledRefusesMail {
		if res, err = d.withoutDisabled(ctx, res); err != nil {
			return res, err
		}
	}
	if len(res.External) > 0 && d.o.Queue == nil {
		return res, fmt.Errorf("%s: %w", res.Address, ErrNoQueue)
	}
	return res, nil
}

// withoutDisabled drops disabled accounts from a resolution: an alias
// still delivers to its other targets; an address left with no target
// gives ErrDisabled.
func (d *Deliverer) withoutDisabled(ctx context.Context, res directory.Resolution) (directory.Resolution, error) {
	adm, ok := d.o.Store.(store.Admin)
	if !ok || len(res.Accounts) == 0 {
		return res, nil
	}
	kept := make([]store.Account, 0, len(res.Accounts))
	for _, a := range res.Accounts {
		f, err := adm.AccountFlags(ctx, a.Address)
		if err != nil {
			return res, fmt.Errorf("%s: account flags: %w", res.Address, err)
		}
		if f.Disabled {
			d.o.Logger.Info("recipient refused: account disabled", "rcpt", res.Address, "account", a.Address)
			continue
		}
		kept = append(kept, a)
	}
	res.Accounts = kept
	if len(kept) == 0 && len(res.External) == 0 {
		return res, fmt.Errorf("%s: %w", res.Address, ErrDisabled)
	}
	return res, nil
}

// Envelope is one message with its resolved recipients.
type Envelope struct {
	// From is the reverse path; empty for the null sender (bounces).
	From string
	// Recipients are resolutions returned by Resolve.
	Recipients []directory.Resolution
	// External are further external recipients given directly (a
	// submitted message to other domains); they go to the queue.
	External []string
	// Data is the message with CRLF line endings, trace headers included.
	Data []byte
	// Junk files local copies in each account's \Junk mailbox instead of
	// INBOX (a DMARC p=quarantine verdict).
	Junk bool
	// Admitted are the quota readings of Admit for the recipients'
	// accounts, if the caller checked them a moment ago (SMTP RCPT);
	// recent ones are checked against instead of reading them again.
	Admitted []Admission
}

// Result says where a message went.
type Result struct {
	Local    []store.Delivered
	Accounts []string // addresses of the local accounts that got a copy
	Queued   []string // external addresses handed to the queue
}

// Deliver stores the message for every local recipient (one body, one
// transaction, fsynced when it returns nil) and queues external
// recipients. Local copies are committed before external ones are queued;
// an error after local delivery says so, so that the caller can report a
// temporary failure and the sender retries (a duplicate is better than a
// loss).
func (d *Deliverer) Deliver(ctx context.Context, env Envelope) (Result, error) {
	if d.o.Observe == nil {
		return d.deliver(ctx, env)
	}
	start := time.Now()
	res, err := d.deliver(ctx, env)
	d.o.Observe(Observation{Op: "deliver", Local: len(res.Local), Queued: len(res.Queued), Bytes: len(env.Data), Duration: time.Since(start), Err: err})
	return res, err
}

func (d *Deliverer) deliver(ctx context.Context, env Envelope) (Result, error) {
	var res Result
	var targets []store.Target
	var checks []quotaCheck
	seen := map[store.AccountID]bool{}
	extSeen := map[string]bool{}
	var external []string
	addExt := func(a string) {
		if !extSeen[a] {
			extSeen[a] = true
			external = append(external, a)
		}
	}
	now := d.o.Now()
	for _, r := range env.Recipients {
		for _, acct := range r.Accounts {
			if seen[acct.ID] {
				continue
			}
			seen[acct.ID] = true
			mb, err := d.targetMailbox(ctx, acct.ID, env.Junk)
			if err != nil {
				return res, fmt.Errorf("delivery to %s: %w", acct.Address, err)
			}
			prefix := tracePrefix(env.From, acct.Address)
			qc, err := d.admit(ctx, acct, int64(len(prefix)+len(env.Data)), env.Admitted)
			if err != nil {
				return res, fmt.Errorf("delivery to %s: %w", acct.Address, err)
			}
			checks = append(checks, qc)
			targets = append(targets, store.Target{
				Mailbox:      mb.ID,
				Prefix:       prefix,
				InternalDate: now,
			})
			res.Accounts = append(res.Accounts, acct.Address)
		}
		for _, e := range r.External {
			addExt(e)
		}
	}
	for _, e := range env.External {
		addExt(e)
	}
	if len(external) > 0 && d.o.Queue == nil {
		return Result{}, ErrNoQueue
	}
	if len(targets) > 0 {
		del := store.Delivery{Body: env.Data, Targets: targets}
		if d.o.Analyze != nil {
			del.Parsed = d.o.Analyze(env.Data)
		}
		got, err := d.o.Store.Deliver(ctx, del)
		if err != nil {
			return Result{}, fmt.Errorf("delivery: %w", err)
		}
		res.Local = got
		for _, c := range checks {
			d.warn(ctx, c)
		}
	}
	if len(external) > 0 {
		if err := d.o.Queue.Enqueue(ctx, env.From, external, env.Data); err != nil {
			return res, fmt.Errorf("queueing for %s: %w", strings.Join(external, ", "), err)
		}
		res.Queued = external
	}
	return res, nil
}

// targetMailbox is the INBOX, or with junk the account's \Junk mailbox
// (INBOX when the user deleted it).
func (d *Deliverer) targetMailbox(ctx context.Context, acct store.AccountID, junk bool) (store.Mailbox, error) {
	if junk {
		mbs, err := d.o.Store.ListMailboxes(ctx, acct)
		if err != nil {
			return store.Mailbox{}, err
		}
		for _, mb := range mbs {
			if mb.SpecialUse == store.SpecialJunk {
				return mb, nil
			}
		}
	}
	if mb, ok := d.cache.inbox.get(acct); ok {
		return mb, nil
	}
	mb, err := d.o.Store.GetMailbox(ctx, acct, "INBOX")
	if err == nil {
		d.cache.inbox.put(acct, mb)
	}
	return mb, err
}

// HasQueue reports whether external recipients can be accepted.
func (d *Deliverer) HasQueue() bool { return d.o.Queue != nil }

// Append stores a message in one mailbox as given (IMAP APPEND, the
// webmail's Sent and Drafts copies, import), with no trace prefix.
func (d *Deliverer) Append(ctx context.Context, mailbox store.MailboxID, flags []string, date time.Time, data []byte) (store.Delivered, error) {
	if d.o.Observe == nil {
		return d.append(ctx, mailbox, flags, date, data)
	}
	start := time.Now()
	got, err := d.append(ctx, mailbox, flags, date, data)
	o := Observation{Op: "append", Bytes: len(data), Duration: time.Since(start), Err: err}
	if err == nil {
		o.Local = 1
	}
	d.o.Observe(o)
	return got, err
}

func (d *Deliverer) append(ctx context.Context, mailbox store.MailboxID, flags []string, date time.Time, data []byte) (store.Delivered, error) {
	if date.IsZero() {
		date = d.o.Now()
	}
	mb, err := d.o.Store.GetMailboxByID(ctx, mailbox)
	if err != nil {
		return store.Delivered{}, fmt.Errorf("append: %w", err)
	}
	acct, err := d.o.Store.GetAccountByID(ctx, mb.Account)
	if err != nil {
		return store.Delivered{}, fmt.Errorf("append: %w", err)
	}
	qc, err := d.admit(ctx, acct, int64(len(data)), nil)
	if err != nil {
		return store.Delivered{}, fmt.Errorf("append: %w", err)
	}
	del := store.Delivery{Body: data, Targets: []store.Target{{Mailbox: mailbox, Flags: flags, InternalDate: date}}}
	if d.o.Analyze != nil {
		del.Parsed = d.o.Analyze(data)
	}
	got, err := d.o.Store.Deliver(ctx, del)
	if err != nil {
		return store.Delivered{}, fmt.Errorf("append: %w", err)
	}
	d.warn(ctx, qc)
	return got[0], nil
}

// tracePrefix is the per-copy header block added at local delivery
// (RFC 5321 §4.4: Return-Path at final delivery; Delivered-To as Postfix
// and Dovecot write it, which also lets loops be detected).
func tracePrefix(from, rcpt string) []byte {
	return []byte("Return-Path: <" + from + ">\r\nDelivered-To: " + rcpt + "\r\n")
}
