package sqlcore

import (
	"sync"

	"mailhouse/internal/store"
)

// feedBuffer is the capacity of a subscription's channel. Past it, events
// wait in the subscription's pending list, coalesced per mailbox.
const feedBuffer = 64

// Subscription is one subscriber of a change feed (store.Feed), the part
// both backends' feeds share. Whoever publishes (SQLite's committer,
// PostgreSQL's listener) must never wait for a subscriber: a
// subscription has a pending list, holding at most one event per (kind,
// mailbox) with the latest modseq, and a goroutine that moves it to the
// subscriber's channel. A slow reader therefore costs memory bounded by
// its number of mailboxes, and still always receives the latest modseq
// of every mailbox.
type Subscription struct {
	out  chan store.Event
	wake chan struct{} // capacity 1: "pending is not empty"
	quit chan struct{} // closed by Stop
	done chan struct{} // closed when the forwarder has closed out
	once sync.Once

	mu      sync.Mutex
	pending []store.Event
}

// NewSubscription starts a subscription; Stop ends it.
func NewSubscription() *Subscription {
	sub := &Subscription{
		out:  make(chan store.Event, feedBuffer),
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go sub.forward()
	return sub
}

// C is the subscriber's channel, closed once the subscription stops.
func (sub *Subscription) C() <-chan store.Event { return sub.out }

// Stop ends the subscription; the channel is closed when it returns. It
// may be called more than once (cancel, and the feed's close).
func (sub *Subscription) Stop() {
	sub.once.Do(func() { close(sub.quit) })
	<-sub.done
}

// Add merges ev into the pending list and wakes the forwarder. It never
// blocks on the subscriber.
func (sub *Subscription) Add(ev store.Event) {
	sub.mu.Lock()
	merged := false
	for i := range sub.pending {
		if p := &sub.pending[i]; p.Kind == ev.Kind && p.Mailbox == ev.Mailbox {
			p.ModSeq = max(p.ModSeq, ev.ModSeq)
			merged = true
			break
		}
	}
	if !merged {
		sub.pending = append(sub.pending, ev)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default: // already awake
	}
}

// forward moves pending events to out until quit. An event taken from
// pending while out is full waits here; newer events for the same
// mailbox meanwhile coalesce in pending, so a mailbox may be reported
// twice but its latest modseq is never lost.
func (sub *Subscription) forward() {
	defer close(sub.done)
	defer close(sub.out)
	for {
		select {
		case <-sub.wake:
		case <-sub.quit:
			return
		}
		sub.mu.Lock()
		batch := sub.pending
		sub.pending = nil
		sub.mu.Unlock()
		for _, ev := range batch {
			select {
			case sub.out <- ev:
			case <-sub.quit:
				return
			}
		}
	}
}
