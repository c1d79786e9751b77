package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// feed hands changes to this node's subscribers. The listener (notify.go)
// publishes into it and never waits for a subscriber (see
// sqlcore.Subscription).
type feed struct {
	mu     sync.Mutex
	subs   map[store.AccountID]map[*subscription]struct{}
	seen   map[store.AccountID]*published // of subscribed accounts, for the sweep
	closed bool

	// Subscriptions wait for their marker (see Subscribe) in waiting.
	node    string // random, names this node's markers
	seq     uint64
	waiting map[string]*subscription
}

// published is what the feed has handed out for one subscribed account:
// the latest modseq per mailbox and a count of mailbox-list events. The
// sweep (sweep.go) compares the database with it.
type published struct {
	modseq        map[store.MailboxID]store.ModSeq
	mailboxEvents uint64
}

type subscription struct {
	*sqlcore.Subscription
	live bool // guarded by feed.mu: its marker arrived (see Subscribe)
}

func newFeed() *feed {
	var node [6]byte
	_, _ = rand.Read(node[:])
	return &feed{subs: make(map[store.AccountID]map[*subscription]struct{}), seen: make(map[store.AccountID]*published),
		node: hex.EncodeToString(node[:]), waiting: make(map[string]*subscription)}
}

// markerWait bounds how long a subscription waits for its marker before
// it takes events anyway.
const markerWait = 10 * time.Second

// Subscribe implements store.Feed. After Close it returns a closed
// channel.
//
// Notifications reach the listener a little after their commit, so an
// event of a write that returned before Subscribe was called could still
// arrive after it. To keep those out, Subscribe NOTIFYs a marker of its
// own and returns once that is committed; the subscription takes events
// only from its marker on. Every write committing after Subscribe
// returns notifies after the marker (NOTIFY order is commit order), so
// none is lost; what was committed before, the subscriber reads itself.
// If the marker cannot be sent, or does not arrive in markerWait, the
// subscription takes events at once (an early event is only a repeat).
func (s *Store) Subscribe(account store.AccountID) (<-chan store.Event, func()) {
	ch, cancel, token := s.feed.subscribe(account)
	if token == "" {
		return ch, cancel
	}
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, markerPrefix+token); err != nil {
		s.log.Warn("pgstore: subscription marker not sent", "err", err)
		s.feed.goLive(token)
		return ch, cancel
	}
	time.AfterFunc(markerWait, func() { s.feed.goLive(token) })
	return ch, cancel
}

// markerPrefix starts a subscription marker's payload.
const markerPrefix = "m "

// goLive lets a waiting subscription take events (its marker arrived, or
// it waited long enough). Unknown tokens (other nodes') are ignored.
func (f *feed) goLive(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sub := f.waiting[token]; sub != nil {
		sub.live = true
		delete(f.waiting, token)
	}
}

// allLive lets every waiting subscription take events (the listener
// reconnected: markers may be lost, and resync reports everything).
func (f *feed) allLive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for token, sub := range f.waiting {
		sub.live = true
		delete(f.waiting, token)
	}
}

func (f *feed) subscribe(account store.AccountID) (<-chan store.Event, func(), string) {
	sub := &subscription{Subscription: sqlcore.NewSubscription()}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		sub.Stop()
		return sub.C(), func() {}, ""
	}
	if f.subs[account] == nil {
		f.subs[account] = make(map[*subscription]struct{})
	}
	f.subs[account][sub] = struct{}{}
	f.seq++
	token := fmt.Sprintf("%s-%d", f.node, f.seq)
	f.waiting[token] = sub
	f.mu.Unlock()

	cancel := func() {
		f.mu.Lock()
		delete(f.subs[account], sub)
		delete(f.waiting, token)
		if len(f.subs[account]) == 0 {
			delete(f.subs, account)
			delete(f.seen, account)
		}
		f.mu.Unlock()
		sub.Stop()
	}
	return sub.C(), cancel, token
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
			if sub.live {
				sub.Add(ev)
			}
		}
		f.recordLocked(ev)
	}
}

// record notes events as published without sending them (the sweep's
// baseline for an account it sees for the first time).
func (f *feed) record(events []store.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range events {
		f.recordLocked(ev)
	}
}

func (f *feed) recordLocked(ev store.Event) {
	if len(f.subs[ev.Account]) == 0 {
		return
	}
	p := f.seen[ev.Account]
	if p == nil {
		p = &published{modseq: map[store.MailboxID]store.ModSeq{}}
		f.seen[ev.Account] = p
	}
	switch ev.Kind {
	case store.EventMessages:
		p.modseq[ev.Mailbox] = max(p.modseq[ev.Mailbox], ev.ModSeq)
	case store.EventMailboxes:
		p.mailboxEvents++
	}
}

// publishedOf returns a copy of what was published for a subscribed
// account: latest modseq per mailbox and count of mailbox-list events.
func (f *feed) publishedOf(account store.AccountID) published {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.seen[account]
	if p == nil {
		return published{}
	}
	return published{modseq: maps.Clone(p.modseq), mailboxEvents: p.mailboxEvents}
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
		sub.Stop()
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
