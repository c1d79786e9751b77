package pgstore

import (
	"sync"

	"mailhouse/internal/store"
)

// feedBuffer is the capacity of a subscription's channel. Past it, events
// wait in the subscription's pending list, coalesced per mailbox.
const feedBuffer = 64

// feed hands changes to this node's subscribers. The listener (notify.go)
// publishes into it and
// must never wait for a subscriber: each subscription has a pending list,
// holding at most one event per (kind, mailbox) with the latest modseq,
// and a goroutine that moves it to the subscriber's channel. A slow
// reader therefore costs memory bounded by its number of mailboxes, and
// still always receives the latest modseq of every mailbox.
type feed struct {
	mu     sync.Mutex
	subs   map[store.AccountID]map[*subscription]struct{}
	closed bool
}

type subscription struct {
	out  chan store.Event
	wake chan struct{} // capacity 1: "pending is not empty"
	quit chan struct{} // closed by stop
	done chan struct{} // closed when the forwarder has closed out
	once sync.Once

	mu      sync.Mutex
	pending []store.Event
}

func newFeed() *feed {
	return &feed{subs: make(map[store.AccountID]map[*subscription]struct{})}
}

// Subscribe implements store.Feed. After Close it returns a closed
// channel.
func (s *Store) Subscribe(account store.AccountID) (<-chan store.Event, func()) {
	return s.feed.subscribe(account)
}

func (f *feed) subscribe(account store.AccountID) (<-chan store.Event, func()) {
	sub := &subscription{
		out:  make(chan store.Event, feedBuffer),
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(sub.out)
		return sub.out, func() {}
	}
	if f.subs[account] == nil {
		f.subs[account] = make(map[*subscription]struct{})
	}
	f.subs[account][sub] = struct{}{}
	f.mu.Unlock()
	go sub.forward()

	cancel := func() {
		f.mu.Lock()
		delete(f.subs[account], sub)
		if len(f.subs[account]) == 0 {
			delete(f.subs, account)
		}
		f.mu.Unlock()
		sub.stop()
	}
	return sub.out, cancel
}

// publish hands committed events to the subscriptions of their accounts.
// It never blocks on a subscriber.
func (f *feed) publish(events []store.Event) {
	if len(events) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range events {
		for sub := range f.subs[ev.Account] {
			sub.add(ev)
		}
	}
}

// close ends every subscription (Store.Close).
func (f *feed) close() {
	f.mu.Lock()
	f.closed = true
	var all []*subscription
	for _, subs := range f.subs {
		for sub := range subs {
			all = append(all, sub)
		}
	}
	f.subs = nil
	f.mu.Unlock()
	for _, sub := range all {
		sub.stop()
	}
}

// stop ends the subscription; the channel is closed when it returns.
// Both cancel and feed.close may call it.
func (sub *subscription) stop() {
	sub.once.Do(func() { close(sub.quit) })
	<-sub.done
}

// add merges ev into the pending list and wakes the forwarder.
func (sub *subscription) add(ev store.Event) {
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
func (sub *subscription) forward() {
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

// accounts lists the accounts with a live subscription.
func (f *feed) accounts() []store.AccountID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]store.AccountID, 0, len(f.subs))
	for a := range f.subs {
		out = append(out, a)
	}
	return out
}
