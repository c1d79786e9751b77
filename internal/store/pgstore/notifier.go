package pgstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"mailhouse/internal/store"
)

// notifier sends committed writes' events to every node (NOTIFY) from
// one goroutine, after the writes commit, many events per statement.
//
// Why not pg_notify inside each write's transaction: PostgreSQL takes
// one database-wide lock from the moment a notifying transaction
// pre-commits until its commit record is flushed, so notifying writes
// commit one at a time and lose the WAL group commit. Measured here
// (BenchmarkDeliver, 20 writers, 20 mailboxes, a shared loaded machine):
// 830 deliveries/s with NOTIFY in the transaction, 1,400-1,700/s with
// this notifier, about 2,900/s with no NOTIFY at all. One notifying
// statement at a time per node keeps the commits grouped.
//
// The price is a window between a write's commit and its NOTIFY: if the
// node dies in it, other nodes never get that notification. sweep.go
// closes that gap: every sweep interval each node compares the
// HIGHESTMODSEQ and names of its subscribers' mailboxes with what it saw
// last and publishes what changed, so an event is at worst late by one
// interval, never lost (store.Feed allows repeats).
type notifier struct {
	s    *Store
	wake chan struct{} // capacity 1
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending []store.Event
	waiters []chan struct{} // closed once pending as of their add is sent
}

// notifyBatch bounds the events of one NOTIFY statement.
const notifyBatch = 500

// notifyWait bounds how long a write waits for its NOTIFY (the write has
// committed whatever happens; the sweep catches up on a failure).
const notifyWait = 5 * time.Second

// notifyFlushTimeout bounds the last flush at Close.
const notifyFlushTimeout = 5 * time.Second

func newNotifier(s *Store) *notifier {
	n := &notifier{s: s, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go n.run()
	return n
}

// add queues events of a committed write and waits until they are sent
// (in a batch with other writes' events, as PostgreSQL groups commits),
// so that a write's notification is on its way when the write returns,
// as it was with NOTIFY inside the transaction. Events coalesce per
// (kind, mailbox), keeping the latest modseq, so pending memory is
// bounded by the number of mailboxes.
func (n *notifier) add(evs []store.Event) {
	if len(evs) == 0 {
		return
	}
	sent := make(chan struct{})
	n.mu.Lock()
	n.pending = coalesce(n.pending, evs)
	n.waiters = append(n.waiters, sent)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(notifyWait)
	defer t.Stop()
	select {
	case <-sent:
	case <-t.C:
	}
}

func coalesce(into, evs []store.Event) []store.Event {
	for _, ev := range evs {
		merged := false
		for i := range into {
			if p := &into[i]; p.Kind == ev.Kind && p.Account == ev.Account && p.Mailbox == ev.Mailbox {
				p.ModSeq = max(p.ModSeq, ev.ModSeq)
				merged = true
				break
			}
		}
		if !merged {
			into = append(into, ev)
		}
	}
	return into
}

// take empties the pending list and its waiters.
func (n *notifier) take() ([]store.Event, []chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	batch, waiters := n.pending, n.waiters
	n.pending, n.waiters = nil, nil
	return batch, waiters
}

// putBack returns a batch that could not be sent. Its waiters are let
// go: their writes committed, and retrying must not hold them.
func (n *notifier) putBack(batch []store.Event) {
	n.mu.Lock()
	n.pending = coalesce(batch, n.pending)
	n.mu.Unlock()
}

func release(waiters []chan struct{}) {
	for _, w := range waiters {
		close(w)
	}
}

func (n *notifier) run() {
	defer close(n.done)
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-n.wake:
		case <-n.stop:
			n.flush()
			return
		}
		batch, waiters := n.take()
		if len(batch) == 0 {
			release(waiters)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := n.send(ctx, batch)
		cancel()
		release(waiters)
		if err == nil {
			backoff = 50 * time.Millisecond
			continue
		}
		n.s.log.Warn("pgstore: sending change notifications failed; retrying", "err", err, "events", len(batch))
		select {
		case <-time.After(backoff):
		case <-n.stop:
			n.flush()
			return
		}
		backoff = min(2*backoff, reconnectMax)
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

// flush sends what is pending, once, at Close.
func (n *notifier) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), notifyFlushTimeout)
	defer cancel()
	for {
		batch, waiters := n.take()
		release(waiters)
		if len(batch) == 0 {
			return
		}
		if err := n.send(ctx, batch); err != nil {
			n.s.log.Warn("pgstore: change notifications lost at close (other nodes' sweeps catch up)", "err", err, "events", len(batch))
			return
		}
	}
}

// send NOTIFYs a batch, notifyBatch events per statement (each a
// transaction of its own). Payload: "kind account mailbox modseq"
// (parseEvent). On an error, what was not sent goes back to pending.
func (n *notifier) send(ctx context.Context, batch []store.Event) error {
	for len(batch) > 0 {
		chunk := batch[:min(len(batch), notifyBatch)]
		payloads := make([]string, len(chunk))
		for i, ev := range chunk {
			payloads[i] = fmt.Sprintf("%d %d %d %d", ev.Kind, ev.Account, ev.Mailbox, ev.ModSeq)
		}
		if _, err := n.s.pool.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", channel, payloads); err != nil {
			n.putBack(batch)
			return err
		}
		batch = batch[len(chunk):]
	}
	return nil
}

// close sends what is pending and stops the goroutine.
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}
