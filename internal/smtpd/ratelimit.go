package smtpd

import (
	"sync"
	"time"
)

// Outbound rate limit per account: what one submission account may send
// in an hour, in messages and in recipients. A compromised account
// (stolen password, spam run) hits it quickly; further recipients get
// 450 4.7.1 (RFC 3463: delivery not authorized, temporary) and the
// administrator is told once per hour per account (Options.OnSendLimit).

// SendLimits bound submission per account over a sliding hour; a zero
// field takes its default.
type SendLimits struct {
	MessagesPerHour   int // default DefaultSendMessagesPerHour
	RecipientsPerHour int // default DefaultSendRecipientsPerHour
}

// Defaults of SendLimits (config abuse.send_*_per_hour).
const (
	DefaultSendMessagesPerHour   = 500
	DefaultSendRecipientsPerHour = 2000
	// maxRateAccounts bounds the accounts tracked; the oldest idle ones
	// go first.
	maxRateAccounts = 100_000
)

var errSendLimit = reply(450, 4, 7, 1, "Sending limit reached for this account, try again later")

type sendRecord struct {
	at    time.Time
	rcpts int
}

type rateLimiter struct {
	lim      SendLimits
	now      func() time.Time
	mu       sync.Mutex
	sent     map[string][]sendRecord // by account, oldest first
	notified map[string]time.Time
}

func newRateLimiter(l SendLimits, now func() time.Time) *rateLimiter {
	if l.MessagesPerHour <= 0 {
		l.MessagesPerHour = DefaultSendMessagesPerHour
	}
	if l.RecipientsPerHour <= 0 {
		l.RecipientsPerHour = DefaultSendRecipientsPerHour
	}
	return &rateLimiter{lim: l, now: now, sent: map[string][]sendRecord{}, notified: map[string]time.Time{}}
}

// window drops records older than an hour and returns the counts left.
func (r *rateLimiter) windowLocked(acct string, now time.Time) (msgs, rcpts int) {
	recs := r.sent[acct]
	i := 0
	for i < len(recs) && now.Sub(recs[i].at) >= time.Hour {
		i++
	}
	recs = recs[i:]
	if len(recs) == 0 {
		delete(r.sent, acct)
	} else {
		r.sent[acct] = recs
	}
	for _, x := range recs {
		rcpts += x.rcpts
	}
	return len(recs), rcpts
}

// allow reports whether the account may add one more recipient to a
// message that has pending recipients so far; on the first refusal in
// an hour it also reports notify.
func (r *rateLimiter) allow(acct string, pending int) (ok, notify bool) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs, rcpts := r.windowLocked(acct, now)
	if msgs < r.lim.MessagesPerHour && rcpts+pending+1 <= r.lim.RecipientsPerHour {
		return true, false
	}
	if t, ok := r.notified[acct]; !ok || now.Sub(t) >= time.Hour {
		r.notified[acct] = now
		return false, true
	}
	return false, false
}

// record counts one sent message with n recipients.
func (r *rateLimiter) record(acct string, n int) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) >= maxRateAccounts {
		for k := range r.sent {
			r.windowLocked(k, now)
		}
		for k, t := range r.notified {
			if now.Sub(t) >= time.Hour {
				delete(r.notified, k)
			}
		}
	}
	r.sent[acct] = append(r.sent[acct], sendRecord{at: now, rcpts: n})
}
