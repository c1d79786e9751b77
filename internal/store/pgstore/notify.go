package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mailhouse/internal/store"
)

// The cross-node change feed. A committed write's events go to the
// notifier (notifier.go), which NOTIFYs them in batches to every session
// listening on the channel, this node's included; the sweep (sweep.go)
// catches what a node that died before notifying never sent. Each node keeps
// one dedicated connection LISTENing and hands what arrives to its local
// subscribers (feed.go), so that local and remote changes take one path.
//
// A lost listener connection loses the notifications sent while it was
// down. After reconnecting, the listener therefore sends every local
// subscriber, for each mailbox of its account, an event with the
// mailbox's current HIGHESTMODSEQ, plus one EventMailboxes: nothing is
// lost, at the price of events a session may already have seen (the feed
// allows repeats; a session re-reads with Changes and finds nothing new).

// channel is the NOTIFY channel.
const channel = "mailhouse_changes"

// reconnectMax bounds the listener's reconnection back-off.
const reconnectMax = 5 * time.Second

func parseEvent(payload string) (store.Event, bool) {
	f := strings.Fields(payload)
	if len(f) != 4 {
		return store.Event{}, false
	}
	var n [4]uint64
	for i, s := range f {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return store.Event{}, false
		}
		n[i] = v
	}
	ev := store.Event{Kind: store.EventKind(n[0]), Account: store.AccountID(n[1]), Mailbox: store.MailboxID(n[2]), ModSeq: store.ModSeq(n[3])}
	if ev.Kind != store.EventMessages && ev.Kind != store.EventMailboxes {
		return store.Event{}, false
	}
	return ev, true
}

// listener owns the LISTEN connection.
type listener struct {
	s      *Store
	cancel context.CancelFunc
	done   chan struct{}
}

// startListener connects and LISTENs before returning, then serves in the
// background until stop.
func startListener(ctx context.Context, s *Store) (*listener, error) {
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &listener{s: s, cancel: cancel, done: make(chan struct{})}
	go l.run(lctx, conn)
	return l, nil
}

func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("listener: %w", err)
	}
	return conn, nil
}

func (l *listener) stop() {
	l.cancel()
	<-l.done
}

func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	backoff := 50 * time.Millisecond
	for {
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			backoff = 50 * time.Millisecond
			if token, ok := strings.CutPrefix(n.Payload, markerPrefix); ok {
				l.s.feed.goLive(token)
			} else if ev, ok := parseEvent(n.Payload); ok {
				l.s.feed.publish([]store.Event{ev})
			} else {
				l.s.log.Warn("pgstore: unreadable change notification", "payload", n.Payload)
			}
		}
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		l.s.log.Warn("pgstore: change feed connection lost; reconnecting")
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, reconnectMax)
			c, err := l.s.listen(ctx)
			if err == nil {
				conn = c
				break
			}
			l.s.log.Warn("pgstore: change feed reconnect failed", "err", err)
		}
		l.s.log.Info("pgstore: change feed reconnected")
		l.resync(ctx)
	}
}

// resync tells every local subscriber the current state of its account's
// mailboxes (see the comment at the top of this file).
func (l *listener) resync(ctx context.Context) {
	l.s.feed.allLive()
	for _, acc := range l.s.feed.accounts() {
		evs := []store.Event{{Kind: store.EventMailboxes, Account: acc}}
		rows, err := l.s.pool.Query(ctx, "SELECT id, highestmodseq FROM mailboxes WHERE account_id = $1", acc)
		if err != nil {
			l.s.log.Warn("pgstore: change feed resync", "err", err)
			l.s.feed.publish(evs)
			continue
		}
		for rows.Next() {
			ev := store.Event{Kind: store.EventMessages, Account: acc}
			if err := rows.Scan(&ev.Mailbox, &ev.ModSeq); err == nil {
				evs = append(evs, ev)
			}
		}
		rows.Close()
		l.s.feed.publish(evs)
	}
}
