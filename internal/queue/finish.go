package queue

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"mailhouse/internal/smtpclient"
	"mailhouse/internal/store"
)

// finish records an attempt's outcome: delivered and failed recipients
// are final, the others wait for the next try; reports to the sender
// are queued in the same transaction.
func (q *Queue) finish(a *attempt) {
	now := q.o.Now()
	e := a.entry
	expired := now.Sub(e.Created) >= q.cfg.MaxAge
	interrupted := q.ctx.Err() != nil
	out := store.QueueOutcome{ID: e.ID, Owner: q.owner, Counted: !interrupted}
	var failed []reportRcpt
	var pending []reportRcpt
	var lastErr string
	for _, r := range a.results {
		switch {
		case r.err == nil:
			out.Recipients = append(out.Recipients, store.RecipientResult{Address: r.addr, Status: store.RcptDelivered})
		case !r.err.Temporary:
			out.Recipients = append(out.Recipients, store.RecipientResult{Address: r.addr, Status: store.RcptFailed, Error: r.err.Error()})
			failed = append(failed, reportRcpt{addr: r.addr, err: r.err})
		case expired && !interrupted:
			// RFC 5321 §4.5.4.1: give up, and say so.
			ee := *r.err
			ee.Temporary = false
			ee.Message = "delivery time expired; last error: " + r.err.Message
			if strings.HasPrefix(ee.Enhanced, "4.") {
				ee.Enhanced = "5." + ee.Enhanced[2:]
			} else {
				ee.Enhanced = "5.4.7"
			}
			ee.Code = 0
			if r.err.Code != 0 {
				ee.Message = "delivery time expired; last reply: " + r.err.Error()
			}
			out.Recipients = append(out.Recipients, store.RecipientResult{Address: r.addr, Status: store.RcptFailed, Error: ee.Message})
			failed = append(failed, reportRcpt{addr: r.addr, err: &ee})
		default:
			out.Recipients = append(out.Recipients, store.RecipientResult{Address: r.addr, Status: store.RcptPending, Error: r.err.Error()})
			pending = append(pending, reportRcpt{addr: r.addr, err: r.err})
			lastErr = r.err.Error()
		}
	}
	out.LastError = lastErr
	if interrupted {
		out.NextAttempt = now
	} else {
		out.NextAttempt = now.Add(q.backoff(e.Attempts + 1))
		if end := e.Created.Add(q.cfg.MaxAge); out.NextAttempt.After(end) {
			out.NextAttempt = end // one last try at expiry
		}
	}
	if e.From != "" {
		if len(failed) > 0 {
			out.Reports = append(out.Reports, q.report(e, a.data, failed, false, now))
		}
		if len(pending) > 0 && !e.Warned && !interrupted && now.Sub(e.Created) >= q.cfg.WarnAfter {
			out.Reports = append(out.Reports, q.report(e, a.data, pending, true, now))
			out.Warned = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := q.o.Store.QueueFinish(ctx, out)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrLocked):
		q.log.Warn("queue: entry dropped or taken while in delivery", "queue_id", e.ID, "err", err)
	case err != nil:
		// The lease runs out and the entry is tried again: a duplicate,
		// never a loss.
		q.log.Error("queue: recording outcome failed", "queue_id", e.ID, "err", err)
	}
	if q.o.OnResult != nil && err == nil {
		counts := map[string]int{}
		for _, r := range out.Recipients {
			switch r.Status {
			case store.RcptDelivered:
				counts["delivered"]++
			case store.RcptFailed:
				counts["bounced"]++
			default:
				counts["deferred"]++
			}
		}
		for result, n := range counts {
			q.o.OnResult(result, n)
		}
	}
	for _, r := range out.Recipients {
		q.log.Info("delivery attempt",
			"queue_id", e.ID, "from", e.From, "to", r.Address, "status", r.Status.String(),
			"reply", r.Error, "attempt", e.Attempts+1, "size", len(a.data),
			"duration", now.Sub(a.started).Round(time.Millisecond))
	}
	if len(out.Reports) > 0 {
		q.kick()
	}
	if e.From == "" && len(failed) > 0 {
		q.log.Warn("queue: report undeliverable, dropped (no report about a report)", "queue_id", e.ID, "to", failed[0].addr)
	}
}

// backoff is the wait before attempt n+1: RetryMin doubled per attempt,
// at most RetryMax.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.RetryMin
	for i := 1; i < n && d < q.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, q.cfg.RetryMax)
}

// needsUTF8 reports whether a message needs SMTPUTF8 (RFC 6531 §3.2):
// a non-ASCII envelope address or header.
func needsUTF8(from string, to []string, data []byte) bool {
	if !isASCII(from) {
		return true
	}
	for _, t := range to {
		if !isASCII(t) {
			return true
		}
	}
	h := data
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		h = data[:i]
	}
	return has8bit(h) && utf8.Valid(h)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// reportRcpt is one recipient a report is about.
type reportRcpt struct {
	addr string
	err  *smtpclient.Error
}
