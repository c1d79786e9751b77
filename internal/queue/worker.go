package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/smtpclient"
	"mailhouse/internal/store"
)

// schedule leases due entries and hands them to destinations, then
// sleeps until the next entry is due, Poll passes, or Enqueue wakes it.
func (q *Queue) schedule() {
	defer q.loopWG.Done()
	for !q.isStopping() {
		q.mu.Lock()
		room := q.cfg.MaxInFlight - q.inflight
		q.mu.Unlock()
		if room <= 0 {
			select {
			case <-q.space:
			case <-q.wake:
			}
			continue
		}
		entries, err := q.o.Store.QueueLease(q.ctx, store.LeaseRequest{
			Owner: q.owner, Now: q.o.Now(), For: q.cfg.Lease, Limit: min(room, q.cfg.Batch),
		})
		if err != nil {
			q.log.Error("queue: lease failed", "err", err)
			q.sleep(time.Second)
			continue
		}
		for _, e := range entries {
			q.dispatch(e)
		}
		if len(entries) == min(room, q.cfg.Batch) {
			continue // more may be due
		}
		wait := q.cfg.Poll
		if next, ok, err := q.o.Store.QueueNextDue(q.ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(q.o.Now()), 10*time.Millisecond))
		}
		q.sleep(wait)
	}
}

func (q *Queue) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-q.wake:
	case <-q.ctx.Done():
	}
}

// attempt is one entry in delivery: its recipients are split into jobs
// by destination, and the entry is finished when the last job is.
type attempt struct {
	entry   store.QueueEntry
	data    []byte
	started time.Time

	mu      sync.Mutex
	left    int
	results []rcptResult
}

type rcptResult struct {
	addr string
	err  *smtpclient.Error // nil: delivered
}

// job is the part of an attempt that goes to one destination.
type job struct {
	a      *attempt
	domain string // a domain of the recipients, for dialing
	rcpts  []string
	local  bool
}

func (q *Queue) dispatch(e store.QueueEntry) {
	data, err := q.o.Store.QueueData(q.ctx, e.ID)
	if err != nil {
		q.log.Error("queue: reading message", "queue_id", e.ID, "err", err)
		return // the lease runs out and it is tried again
	}
	a := &attempt{entry: e, data: data, started: q.o.Now()}
	var jobs []*job
	byDest := map[string]*job{}
	for _, rcpt := range e.Pending() {
		_, domain, _ := strings.Cut(rcpt, "@")
		key := "local"
		local := q.isLocal(domain)
		if !local {
			key = q.o.Dialer.Destination(domain)
		}
		j := byDest[key]
		if j == nil {
			j = &job{a: a, domain: domain, local: local}
			byDest[key] = j
			jobs = append(jobs, j)
		}
		j.rcpts = append(j.rcpts, rcpt)
	}
	if len(jobs) == 0 {
		return
	}
	a.left = len(jobs)
	q.mu.Lock()
	q.inflight++
	q.mu.Unlock()
	for _, j := range jobs {
		q.jobWG.Add(1)
		if j.local {
			go q.runLocal(j)
			continue
		}
		q.destFor(q.o.Dialer.Destination(j.domain)).add(j)
	}
}

func (q *Queue) isLocal(domain string) bool {
	if q.o.Local == nil || q.o.Resolver == nil {
		return false
	}
	ok, err := q.o.Resolver.IsLocalDomain(q.ctx, domain)
	if err != nil {
		q.log.Error("queue: domain lookup failed", "domain", domain, "err", err)
	}
	return ok
}

// jobDone records a job's results; the last job of an attempt finishes
// the entry.
func (q *Queue) jobDone(j *job, res []rcptResult) {
	defer q.jobWG.Done()
	a := j.a
	a.mu.Lock()
	a.results = append(a.results, res...)
	a.left--
	last := a.left == 0
	a.mu.Unlock()
	if !last {
		return
	}
	q.finish(a)
	q.mu.Lock()
	q.inflight--
	q.mu.Unlock()
	select {
	case q.space <- struct{}{}:
	default:
	}
}

// runLocal delivers to local recipients through the deliverer.
func (q *Queue) runLocal(j *job) {
	var res []rcptResult
	for _, rcpt := range j.rcpts {
		res = append(res, rcptResult{addr: rcpt, err: q.deliverLocal(j.a.entry.From, rcpt, j.a.data)})
	}
	q.jobDone(j, res)
}

func (q *Queue) deliverLocal(from, rcpt string, data []byte) *smtpclient.Error {
	ctx, cancel := context.WithTimeout(q.ctx, time.Minute)
	defer cancel()
	r, err := q.o.Local.Resolve(ctx, rcpt)
	if errors.Is(err, delivery.ErrNoQueue) {
		// The address forwards elsewhere as well: its local accounts get
		// the copy; a report is not forwarded on.
		r.External, err = nil, nil
	}
	switch {
	case errors.Is(err, directory.ErrUnknownUser), errors.Is(err, directory.ErrBadAddress):
		return &smtpclient.Error{Code: 550, Enhanced: "5.1.1", Message: "no such user here: " + rcpt}
	case errors.Is(err, directory.ErrLoop):
		return &smtpclient.Error{Code: 554, Enhanced: "5.4.6", Message: "alias loop for " + rcpt}
	case err != nil:
		return &smtpclient.Error{Enhanced: "4.3.0", Message: "local delivery: " + err.Error(), Temporary: true}
	}
	if _, err := q.o.Local.Deliver(ctx, delivery.Envelope{From: from, Recipients: []directory.Resolution{r}, Data: data}); err != nil {
		return &smtpclient.Error{Enhanced: "4.3.0", Message: "local delivery: " + err.Error(), Temporary: true}
	}
	return nil
}

// dest is one destination's worker: it keeps one connection and sends
// the jobs given to it in order.
type dest struct {
	q   *Queue
	key string

	mu      sync.Mutex
	jobs    []*job
	running bool
}

func (q *Queue) destFor(key string) *dest {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.dests[key]
	if d == nil {
		d = &dest{q: q, key: key}
		q.dests[key] = d
	}
	return d
}

func (d *dest) add(j *job) {
	d.mu.Lock()
	d.jobs = append(d.jobs, j)
	start := !d.running
	d.running = true
	d.mu.Unlock()
	if start {
		go d.run()
	}
}

// next waits up to the idle time for a job; nil when there is none.
func (d *dest) next(idle time.Duration) *job {
	deadline := time.Now().Add(idle)
	for {
		d.mu.Lock()
		if len(d.jobs) > 0 {
			j := d.jobs[0]
			d.jobs = d.jobs[1:]
			d.mu.Unlock()
			return j
		}
		if time.Now().After(deadline) || d.q.ctx.Err() != nil || d.q.isStopping() {
			d.running = false
			d.mu.Unlock()
			return nil
		}
		d.mu.Unlock()
		time.Sleep(min(50*time.Millisecond, time.Until(deadline)+time.Millisecond))
	}
}

// run sends jobs until none comes for IdleConnection.
func (d *dest) run() {
	q := d.q
	select {
	case q.sem <- struct{}{}:
		defer func() { <-q.sem }()
	case <-q.ctx.Done():
		// Stopping: the jobs below fail at once as interrupted.
	}
	var c *smtpclient.Conn
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	defer func() {
		q.mu.Lock()
		d.mu.Lock()
		if !d.running && len(d.jobs) == 0 {
			delete(q.dests, d.key)
		}
		d.mu.Unlock()
		q.mu.Unlock()
	}()
	for {
		j := d.next(q.cfg.IdleConnection)
		if j == nil {
			return
		}
		if c != nil && !c.Usable() {
			_ = c.Close()
			c = nil
		}
		if c == nil {
			var err error
			c, err = q.o.Dialer.Dial(q.ctx, j.domain)
			if err != nil {
				c = nil
				e := asErr(err)
				q.jobDone(j, allFailed(j.rcpts, e))
				// The destination is unreachable: the jobs waiting for it
				// fail alike now rather than each dialing again.
				for _, w := range d.drain() {
					q.jobDone(w, allFailed(w.rcpts, e))
				}
				continue
			}
		}
		m := smtpclient.Message{From: j.a.entry.From, To: j.rcpts, Data: j.a.data}
		m.UTF8, m.EightBit = needsUTF8(m.From, m.To, m.Data), has8bit(m.Data)
		results, _ := c.Send(q.ctx, m)
		res := make([]rcptResult, len(results))
		for i, r := range results {
			res[i] = rcptResult{addr: r.Address, err: r.Err}
		}
		q.jobDone(j, res)
	}
}

func (d *dest) drain() []*job {
	d.mu.Lock()
	defer d.mu.Unlock()
	js := d.jobs
	d.jobs = nil
	return js
}

// closeIdle waits for destination workers to stop (they do once idle or
// when the queue stops).
func (q *Queue) closeIdle() {
	for {
		busy := false
		q.mu.Lock()
		for _, d := range q.dests {
			d.mu.Lock()
			busy = busy || d.running
			d.mu.Unlock()
		}
		q.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allFailed(rcpts []string, e *smtpclient.Error) []rcptResult {
	res := make([]rcptResult, len(rcpts))
	for i, r := range rcpts {
		res[i] = rcptResult{addr: r, err: e}
	}
	return res
}

func asErr(err error) *smtpclient.Error {
	var e *smtpclient.Error
	if errors.As(err, &e) {
		return e
	}
	return &smtpclient.Error{Enhanced: "4.4.0", Message: err.Error(), Temporary: true}
}
