package sqlstore

import (
	"sync"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// feed is the in-process change feed. The committer publishes into it
// after each commit and never waits for a subscriber (see
// sqlcore.Subscription).
type feed struct {
	mu     sync.Mutex
	subs   map[store.AccountID]map[*sqlcore.Subscription]struct{}
	closed bool
}

func newFeed() *feed {
	return &feed{subs: make(map[store.AccountID]map[*sqlcore.Subscription]struct{})}
}

// Subscribe implements store.Feed. After Close it returns a closed
// channel.
func (s *Store) Subscribe(account store.AccountID) (<-chan store.Event, func()) {
	return s.feed.subscribe(account)
}

func (f *feed) subscribe(account store.AccountID) (<-chan store.Event, func()) {
	sub := sqlcore.NewSubscription()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		sub.Stop()
		return sub.C(), func() {}
	}
	if f.subs[account] == nil {
		f.subs[account] = make(map[*sqlcore.Subscription]struct{})
	}
	f.subs[account][sub] = struct{}{}
	f.mu.Unlock()

	cancel := func() {
		f.mu.Lock()
		delete(f.subs[account], sub)
		if len(f.subs[account]) == 0 {
			delete(f.subs, account)
		}
		f.mu.Unlock()
		sub.Stop()
	}
	return sub.C(), cancel
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
			sub.Add(ev)
		}
	}
}

// close ends every subscription (Store.Close).
func (f *feed) close() {
	f.mu.Lock()
	f.closed = true
	var all []*sqlcore.Subscription
	for _, subs := range f.subs {
		for sub := range subs {
			all = append(all, sub)
		}
	}
	f.subs = nil
	f.mu.Unlock()
	for _, sub := range all {
		sub.Stop()
	}
}
