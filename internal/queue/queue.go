// Package queue is mailhouse's outbound mail queue. Messages for other
// domains (submitted by users, forwarded by aliases) and the delivery
// reports mailhouse writes are stored durably in the store
// (store.Queue) before the SMTP server says 250, then delivered by
// workers: one goroutine and one connection per destination (a domain's
// MX hosts, a static route, or the smarthost), reused for every message
// going there.
//
// Temporary failures are retried with exponential back-off until
// Config.MaxAge (5 days); the sender gets a delay warning after
// Config.WarnAfter (4 hours) and an RFC 3464 delivery status
// notification, with the original header, when a recipient fails
// permanently or the message expires. No report is ever sent about a
// message from the null sender (RFC 5321 §6.2: no bounce for a bounce).
// Outcome and report are one transaction, and a worker leases an entry
// before trying it, so a crash loses nothing and, at worst, sends a
// message again (as SMTP itself may when a reply is lost).
//
// Messages whose recipients are local (reports to our own users) are
// delivered through the Local deliverer rather than over SMTP.
//
// It does not do: DSN extension parameters (NOTIFY, RET, ENVID), per-
// domain concurrency tuning, or rate limiting towards destinations.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/smtpclient"
	"mailhouse/internal/store"
)

// Config holds the queue's tunables; a zero field takes its default.
type Config struct {
	// MaxConnections bounds concurrent outbound connections (default 20).
	MaxConnections int
	// RetryMin is the first back-off (default 5m); each retry doubles it
	// up to RetryMax (default 2h).
	RetryMin time.Duration
	RetryMax time.Duration
	// MaxAge: a message not delivered after this long bounces (default
	// 5 days, RFC 5321 §4.5.4.1 suggests at least 4-5 days).
	MaxAge time.Duration
	// WarnAfter: the sender is told of the delay once (default 4h).
	WarnAfter time.Duration
	// Lease is how long a worker owns an entry it is trying (default
	// 30m, above the SMTP time-outs of one attempt).
	Lease time.Duration
	// IdleConnection is how long an unused connection stays open for
	// more mail to the same destination (default 10s).
	IdleConnection time.Duration
	// Poll is the longest the scheduler sleeps without looking (other
	// nodes of a shared store add entries too; default 1m).
	Poll time.Duration
	// Batch is how many entries one lease takes (default 100), and
	// MaxInFlight how many may be in delivery at once (default 1000).
	Batch       int
	MaxInFlight int
	// Node names this process among those sharing a store; leases of an
	// earlier run of the same node are taken back at Start (default: the
	// host name).
	Node string
}

// Defaults of Config.
const (
	DefaultMaxConnections = 20
	DefaultRetryMin       = 5 * time.Minute
	DefaultRetryMax       = 2 * time.Hour
	DefaultMaxAge         = 5 * 24 * time.Hour
	DefaultWarnAfter      = 4 * time.Hour
	DefaultLease          = 30 * time.Minute
	DefaultIdleConnection = 10 * time.Second
	DefaultPoll           = time.Minute
	DefaultBatch          = 100
	DefaultMaxInFlight    = 1000
)

// Options configure a Queue.
type Options struct {
	Store store.Queue
	// Dialer connects to next hops.
	Dialer *smtpclient.Dialer
	// Local delivers to recipients in our own domains (the reports we
	// send to our users); a Deliverer without a Queue of its own does.
	Local *delivery.Deliverer
	// Resolver tells local domains from others.
	Resolver *directory.Resolver
	// Hostname names us in reports (Reporting-MTA, MAILER-DAEMON@).
	Hostname string
	// Sign DKIM-signs a message before it is queued; nil queues it as
	// given (see mailauth.Signer.Sign).
	Sign   func(ctx context.Context, data []byte) []byte
	Config Config
	Logger *slog.Logger
	Now    func() time.Time
	// OnResult is told how many recipients of an attempt were
	// "delivered", "bounced" or "deferred" (metrics); nil skips it.
	OnResult func(result string, recipients int)
}

// Queue is the outbound queue. It implements delivery.Queue.
type Queue struct {
	o     Options
	cfg   Config
	log   *slog.Logger
	owner string

	wake chan struct{}
	sem  chan struct{} // one token per open connection

	mu       sync.Mutex
	dests    map[string]*dest
	inflight int
	started  bool
	stopping bool

	ctx    context.Context // ends when Shutdown gives up waiting
	cancel context.CancelFunc
	loopWG sync.WaitGroup
	jobWG  sync.WaitGroup
	space  chan struct{} // signalled when in-flight entries finish
}

var _ delivery.Queue = (*Queue)(nil)

// New returns a Queue. Enqueue works at once; Start runs the workers.
func New(o Options) *Queue {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := o.Config
	setDefault(&c.MaxConnections, DefaultMaxConnections)
	setDefault(&c.RetryMin, DefaultRetryMin)
	setDefault(&c.RetryMax, DefaultRetryMax)
	setDefault(&c.MaxAge, DefaultMaxAge)
	setDefault(&c.WarnAfter, DefaultWarnAfter)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.IdleConnection, DefaultIdleConnection)
	setDefault(&c.Poll, DefaultPoll)
	setDefault(&c.Batch, DefaultBatch)
	setDefault(&c.MaxInFlight, DefaultMaxInFlight)
	if c.Node == "" {
		c.Node, _ = os.Hostname()
		if c.Node == "" {
			c.Node = "mailhouse"
		}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	q := &Queue{
		o: o, cfg: c, log: o.Logger,
		owner: c.Node + "/" + hex.EncodeToString(b),
		wake:  make(chan struct{}, 1),
		sem:   make(chan struct{}, c.MaxConnections),
		dests: map[string]*dest{},
		space: make(chan struct{}, 1),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// Enqueue implements delivery.Queue: the message is signed (when a
// signer is set) and stored for its recipients; a nil error means it is
// committed and fsynced.
func (q *Queue) Enqueue(ctx context.Context, from string, to []string, data []byte) error {
	if len(to) == 0 {
		return errors.New("queue: no recipients")
	}
	if q.o.Sign != nil {
		data = q.o.Sign(ctx, data)
	}
	e, err := q.o.Store.QueueAdd(ctx, store.NewQueueEntry{From: from, To: to, Data: data})
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.log.Info("queued", "queue_id", e.ID, "from", from, "to", to, "size", len(data))
	q.kick()
	return nil
}

// kick wakes the scheduler.
func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Start takes back the leases an earlier run of this node left (it
// crashed) and starts the scheduler.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return errors.New("queue: already started")
	}
	q.started = true
	q.mu.Unlock()
	n, err := q.o.Store.QueueRelease(ctx, q.cfg.Node+"/")
	if err != nil {
		return fmt.Errorf("queue: releasing leases: %w", err)
	}
	if n > 0 {
		q.log.Warn("queue: took back entries leased by an earlier run", "entries", n)
	}
	q.loopWG.Add(1)
	go q.schedule()
	return nil
}

// Shutdown stops leasing, lets deliveries in progress finish within ctx,
// then interrupts the rest (their entries are retried at the next start)
// and closes idle connections.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.mu.Lock()
	if q.stopping {
		q.mu.Unlock()
		return nil
	}
	q.stopping = true
	q.mu.Unlock()
	q.kick()
	q.loopWG.Wait()
	done := make(chan struct{})
	go func() {
		q.jobWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		q.cancel()
		<-done
	}
	q.cancel()
	q.closeIdle()
	return err
}

func (q *Queue) isStopping() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopping
}
