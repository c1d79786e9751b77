package imapd

import (
	"mailhouse/internal/store"
)

// The change feed, shared per account.
//
// A store subscription costs a goroutine and a 64-event channel (and,
// for PostgreSQL, a place in the LISTEN fan-out); clients keep several
// connections per account open for hours, most of them idle. So the
// server holds one store subscription per account with sessions in
// the selected state, and a goroutine that hands each event to the
// sessions of that account: into a small channel per session (what
// sync and the COMPRESS IDLE loop read), and as a wake-up for a
// session blocked reading in IDLE (idle.go), which thus needs no
// goroutine of its own.

// sessionFeedBuffer is the capacity of a session's event channel. The
// last place is kept for an overflow marker (see feedSub.send).
const sessionFeedBuffer = 8

// accountFeed is one account's store subscription and its sessions.
type accountFeed struct {
	cancel func()
	subs   map[*feedSub]struct{} // guarded by Server.feedMu; nil once the feed ended
}

// feedSub is one session's subscription.
type feedSub struct {
	ch   chan store.Event
	sess *session
}

// subscribe starts delivering the account's events to sess, like
// store.Feed.Subscribe: cancel stops delivery; the channel is closed if
// the store ends the feed.
func (s *Server) subscribe(sess *session, account store.AccountID) (<-chan store.Event, func()) {
	sub := &feedSub{ch: make(chan store.Event, sessionFeedBuffer), sess: sess}
	s.feedMu.Lock()
	f := s.feeds[account]
	if f == nil {
		events, cancel := s.o.Store.Subscribe(account)
		f = &accountFeed{cancel: cancel, subs: map[*feedSub]struct{}{}}
		s.feeds[account] = f
		go s.fanOut(account, f, events)
	}
	f.subs[sub] = struct{}{}
	s.feedMu.Unlock()
	return sub.ch, func() { s.unsubscribe(account, f, sub) }
}

func (s *Server) unsubscribe(account store.AccountID, f *accountFeed, sub *feedSub) {
	s.feedMu.Lock()
	delete(f.subs, sub)
	last := len(f.subs) == 0
	if last && s.feeds[account] == f {
		delete(s.feeds, account)
	}
	s.feedMu.Unlock()
	if last {
		f.cancel() // fanOut then sees the store's channel closed
	}
}

// fanOut hands the account's events to its sessions until the store's
// channel closes (the last session left, or the store closed).
func (s *Server) fanOut(account store.AccountID, f *accountFeed, events <-chan store.Event) {
	for ev := range events {
		s.feedMu.Lock()
		for sub := range f.subs {
			sub.send(ev)
		}
		s.feedMu.Unlock()
	}
	s.feedMu.Lock()
	if s.feeds[account] == f {
		delete(s.feeds, account)
	}
	subs := f.subs
	f.subs = nil
	s.feedMu.Unlock()
	for sub := range subs {
		close(sub.ch)
	}
}

// send queues ev for the session without blocking and wakes it. Only
// fanOut sends, so the length check cannot race with another sender.
// When the channel is nearly full the last place takes an
// EventMailboxes instead, which makes the session re-read its mailbox's
// changes (selected.drainEvents): an event may be dropped, never a
// change.
func (sub *feedSub) send(ev store.Event) {
	if len(sub.ch) < cap(sub.ch)-1 {
		sub.ch <- ev
	} else {
		select {
		case sub.ch <- store.Event{Kind: store.EventMailboxes, Account: ev.Account}:
		default: // the marker is already queued
		}
	}
	sub.sess.wake()
}
