// Package retention expires old messages: per-folder retention periods
// set by the administrator (server defaults from the config, then rules
// per domain and per account kept in the store) make "remove from the
// server after N days" a server policy rather than a setting one client
// must get right.
//
// A Job runs in the background, expunging expired messages in small
// batches through the store (so selected and IDLE sessions see EXPUNGE
// through the change feed), and logs what it removed. Days answers what
// policy applies to a mailbox, for POP3's CAPA EXPIRE (RFC 2449 §6.7) and
// the settings page. The package never deletes mailboxes or accounts.
package retention

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/store"
)

// Defaults when Options leave them zero.
const (
	DefaultInterval = time.Hour
	DefaultBatch    = 500
)

// Options configure a Job.
type Options struct {
	Store store.Store
	// Limits holds the per-domain and per-account rules; nil means the
	// Store's own when it implements store.Limits (otherwise only
	// Defaults apply).
	Limits store.Limits
	// Defaults are the server-wide rules (config retention.folders):
	// folder (special-use name such as "trash", or a mailbox name such as
	// "INBOX") to days.
	Defaults map[string]int
	Interval time.Duration // between runs; DefaultInterval when 0
	Batch    int           // UIDs per expunge; DefaultBatch when 0
	Logger   *slog.Logger
	Now      func() time.Time
}

// Job is the background expiry job. It is safe for concurrent use.
type Job struct {
	o      Options
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Job; Start runs it.
func New(o Options) *Job {
	if o.Limits == nil {
		o.Limits, _ = o.Store.(store.Limits)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Job{o: o}
}

// Start runs the job every Interval (the first run at once) until
// Shutdown.
func (j *Job) Start() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	go func() {
		defer close(j.done)
		t := time.NewTicker(j.o.Interval)
		defer t.Stop()
		for {
			if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
				j.o.Logger.Error("retention run failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Shutdown stops the job, waiting for a run in progress to stop between
// two batches, or for ctx.
func (j *Job) Shutdown(ctx context.Context) error {
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Report says what one run removed.
type Report struct {
	Mailboxes int // mailboxes with a policy, checked
	Expunged  int // messages removed
}

// RunOnce expires what is due now in every account, and returns what it
// removed. It stops early, between batches, when ctx ends.
func (j *Job) RunOnce(ctx context.Context) (Report, error) {
	var rep Report
	rules, err := j.rules(ctx)
	if err != nil {
		return rep, err
	}
	accts, err := j.o.Store.ListAccounts(ctx, "")
	if err != nil {
		return rep, err
	}
	for _, a := range accts {
		mbs, err := j.o.Store.ListMailboxes(ctx, a.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return rep, err
		}
		for _, mb := range mbs {
			days := rules.days(a, mb)
			if days <= 0 {
				continue
			}
			rep.Mailboxes++
			n, err := j.expire(ctx, a, mb, days)
			rep.Expunged += n
			if err != nil {
				return rep, err
			}
		}
	}
	if rep.Expunged > 0 {
		j.o.Logger.Info("retention run", "mailboxes", rep.Mailboxes, "expunged", rep.Expunged)
	}
	return rep, nil
}

// expiredUIDs finds up to Batch messages of a mailbox older than cut:
// with the store's index when it implements store.Limits, else by reading
// the mailbox's metadata.
func (j *Job) expiredUIDs(ctx context.Context, mb store.MailboxID, cut time.Time) ([]store.UID, error) {
	if j.o.Limits != nil {
		return j.o.Limits.ExpiredUIDs(ctx, mb, cut, j.o.Batch)
	}
	msgs, err := j.o.Store.ListMessages(ctx, mb)
	if err != nil {
		return nil, err
	}
	var uids []store.UID
	for _, m := range msgs {
		if m.InternalDate.Before(cut) {
			uids = append(uids, m.UID)
			if len(uids) == j.o.Batch {
				break
			}
		}
	}
	return uids, nil
}

// expire removes the messages of mb older than days, batch by batch.
func (j *Job) expire(ctx context.Context, a store.Account, mb store.Mailbox, days int) (int, error) {
	cut := j.o.Now().Add(-time.Duration(days) * 24 * time.Hour)
	total := 0
	for ctx.Err() == nil {
		uids, err := j.expiredUIDs(ctx, mb.ID, cut)
		if err != nil || len(uids) == 0 {
			return total, ignoreGone(err)
		}
		gone, err := j.o.Store.Expunge(ctx, mb.ID, uids)
		if err != nil {
			return total, ignoreGone(err)
		}
		total += len(gone)
		j.o.Logger.Info("retention expunged", "user", a.Address, "mailbox", mb.Name,
			"days", days, "messages", len(gone), "before", cut.UTC().Format(time.RFC3339))
		if len(uids) < j.o.Batch || len(gone) == 0 {
			break
		}
	}
	return total, nil
}

// ignoreGone: a mailbox or account deleted during the run is not an
// error.
func ignoreGone(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Days returns the retention in days of a mailbox of the account (0:
// kept for ever). With a zero Account it returns the server-wide policy.
func (j *Job) Days(ctx context.Context, a store.Account, mb store.Mailbox) (int, error) {
	rules, err := j.rules(ctx)
	if err != nil {
		return 0, err
	}
	return rules.days(a, mb), nil
}

// Policy lists an account's folders that have a retention period, by
// mailbox name, for the settings page.
func (j *Job) Policy(ctx context.Context, a store.Account) (map[string]int, error) {
	rules, err := j.rules(ctx)
	if err != nil {
		return nil, err
	}
	mbs, err := j.o.Store.ListMailboxes(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, mb := range mbs {
		if d := rules.days(a, mb); d > 0 {
			out[mb.Name] = d
		}
	}
	return out, nil
}

// ruleSet is every rule, read once per run.
type ruleSet struct {
	defaults map[string]int
	stored   []store.RetentionRule
}

func (j *Job) rules(ctx context.Context) (ruleSet, error) {
	rs := ruleSet{defaults: j.o.Defaults}
	if j.o.Limits != nil {
		var err error
		if rs.stored, err = j.o.Limits.ListRetention(ctx); err != nil {
			return rs, err
		}
	}
	return rs, nil
}

// days picks the most specific rule for the mailbox: the account's, then
// its domain's, then the server's (stored, then the config defaults).
func (rs ruleSet) days(a store.Account, mb store.Mailbox) int {
	best, rank := 0, 0
	for _, r := range rs.stored {
		if !Matches(r.Folder, mb) {
			continue
		}
		k := 0
		switch {
		case r.Account != "" && r.Account == a.Address:
			k = 4
		case r.Account == "" && r.Domain != "" && r.Domain == a.Domain:
			k = 3
		case r.Account == "" && r.Domain == "":
			k = 2
		}
		if k > rank {
			best, rank = r.Days, k
		}
	}
	if rank > 0 {
		return best
	}
	for f, d := range rs.defaults {
		if Matches(f, mb) {
			return d
		}
	}
	return 0
}

// Matches reports whether a rule's folder names the mailbox: a
// special-use attribute with or without its backslash, in any case
// ("trash", `\Trash`), or the mailbox's name (INBOX in any case).
func Matches(folder string, mb store.Mailbox) bool {
	if mb.SpecialUse != "" && strings.EqualFold(strings.TrimPrefix(folder, `\`), strings.TrimPrefix(mb.SpecialUse, `\`)) {
		return true
	}
	if strings.EqualFold(folder, "INBOX") {
		return strings.EqualFold(mb.Name, "INBOX")
	}
	return folder == mb.Name
}
