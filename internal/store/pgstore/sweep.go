package pgstore

import (
	"context"
	"maps"
	"time"

	"mailhouse/internal/store"
)

// defaultSweep is how often a node re-reads its subscribers' mailboxes
// to catch notifications lost with a node that died between a commit and
// its NOTIFY (notifier.go).
const defaultSweep = 5 * time.Second

// sweptAccount is what the sweeper knows of one subscribed account.
type sweptAccount struct {
	// candidate holds, per mailbox, a modseq the database showed above
	// what the feed had published. Only if the feed still lags at the
	// next sweep is the event sent: a notification merely on its way
	// (milliseconds) must not turn into a duplicate.
	candidate map[store.MailboxID]store.ModSeq
	// names is the mailbox list as last accepted, and mailboxEvents the
	// feed's count of mailbox-list events at that time.
	names         map[store.MailboxID]string
	mailboxEvents uint64
	namesPending  bool // names differed at the last sweep, no event since
}

// sweeper runs the periodic sweep.
type sweeper struct {
	s     *Store
	state map[store.AccountID]*sweptAccount
	stop  chan struct{}
	done  chan struct{}
}

func startSweeper(s *Store, every time.Duration) *sweeper {
	sw := &sweeper{s: s, state: map[store.AccountID]*sweptAccount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sw.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-sw.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), every)
			if err := sw.once(ctx); err != nil {
				s.log.Warn("pgstore: change feed sweep", "err", err)
			}
			cancel()
		}
	}()
	return sw
}

func (sw *sweeper) close() {
	close(sw.stop)
	<-sw.done
}

type sweptMailbox struct {
	name   string
	modseq store.ModSeq
}

// once reads the subscribed accounts' mailboxes and publishes an event
// for each change the feed has lagged on for a whole interval. An
// account seen for the first time only sets the baseline (a notification
// lost in the very interval its subscriber appeared is not caught).
func (sw *sweeper) once(ctx context.Context) error {
	accs := sw.s.feed.accounts()
	ids := make([]int64, len(accs))
	cur := make(map[store.AccountID]map[store.MailboxID]sweptMailbox, len(accs))
	// What the feed published, read before the database: a change both
	// committed and notified in between looks lagging for one sweep only.
	pubs := make(map[store.AccountID]published, len(accs))
	for i, a := range accs {
		ids[i] = int64(a)
		cur[a] = map[store.MailboxID]sweptMailbox{}
		pubs[a] = sw.s.feed.publishedOf(a)
	}
	if len(ids) > 0 {
		rows, err := sw.s.pool.Query(ctx, "SELECT account_id, id, name, highestmodseq FROM mailboxes WHERE account_id = ANY($1)", ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a store.AccountID
			var id store.MailboxID
			var m sweptMailbox
			if err := rows.Scan(&a, &id, &m.name, &m.modseq); err != nil {
				rows.Close()
				return err
			}
			cur[a][id] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var evs, baseline []store.Event
	next := make(map[store.AccountID]*sweptAccount, len(cur))
	for a, mbs := range cur {
		pub := pubs[a]
		names := make(map[store.MailboxID]string, len(mbs))
		for id, m := range mbs {
			names[id] = m.name
		}
		st := sw.state[a]
		if st == nil {
			next[a] = &sweptAccount{candidate: map[store.MailboxID]store.ModSeq{}, names: names, mailboxEvents: pub.mailboxEvents}
			for id, m := range mbs {
				baseline = append(baseline, store.Event{Kind: store.EventMessages, Account: a, Mailbox: id, ModSeq: m.modseq})
			}
			continue
		}
		next[a] = st
		for id, m := range mbs {
			p := pub.modseq[id]
			switch c, ok := st.candidate[id]; {
			case m.modseq <= p:
				delete(st.candidate, id)
			case ok && p < c:
				evs = append(evs, store.Event{Kind: store.EventMessages, Account: a, Mailbox: id, ModSeq: m.modseq})
				delete(st.candidate, id)
			default:
				st.candidate[id] = m.modseq
			}
		}
		switch {
		case maps.Equal(names, st.names):
			st.mailboxEvents, st.namesPending = pub.mailboxEvents, false
		case pub.mailboxEvents != st.mailboxEvents:
			// The feed reported a mailbox-list change meanwhile.
			st.names, st.mailboxEvents, st.namesPending = names, pub.mailboxEvents, false
		case st.namesPending:
			evs = append(evs, store.Event{Kind: store.EventMailboxes, Account: a})
			st.names, st.mailboxEvents, st.namesPending = names, pub.mailboxEvents+1, false
		default:
			st.namesPending = true
		}
	}
	sw.state = next // forgets accounts no longer subscribed
	sw.s.feed.record(baseline)
	sw.s.feed.publish(evs)
	return nil
}
