package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// Options configure Open.
type Options struct {
	// DSN is a PostgreSQL connection string, URL
	// ("postgres://user:pass@host:5432/db?sslmode=verify-full") or
	// key=value form; see pgx's ParseConfig. Never logged (it may hold a
	// password).
	DSN string
	// MaxConns bounds the connection pool; 0 means 16.
	MaxConns int32
	// Logger receives migration and feed messages; nil discards.
	Logger *slog.Logger
	// FeedSweep is how often the change feed re-reads subscribed
	// accounts' mailboxes to catch notifications lost with a crashed node
	// (sweep.go); 0 means 5 s.
	FeedSweep time.Duration
}

// Store is a store.Store on a PostgreSQL database, shareable by several
// nodes. It is safe for concurrent use.
type Store struct {
	*core // the store's logic, shared with sqlstore

	log  *slog.Logger
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig // for the dedicated listener and lock connections

	// closeMu orders Close against calls in flight: calls hold it shared,
	// Close takes it exclusively to set closed.
	closeMu sync.RWMutex
	closed  bool

	feed     *feed
	listener *listener
	notifier *notifier
	sweeper  *sweeper
	locks    *locker

	maintStop chan struct{}
	maintDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database, applies pending migrations (one node at
// a time, under an advisory lock) and starts listening for other nodes'
// changes. It returns once the listener is in place, so that no change
// committed after Open returns is missed by a subscription.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.DSN == "" {
		return nil, errors.New("pgstore: Options.DSN is empty")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pc, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// pgx's parse errors may quote the DSN: do not pass them on.
		return nil, errors.New("pgstore: the DSN cannot be parsed")
	}
	pc.MaxConns = 16
	if o.MaxConns > 0 {
		pc.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{
		log:       o.Logger,
		pool:      pool,
		cfg:       pc.ConnConfig,
		feed:      newFeed(),
		maintStop: make(chan struct{}),
		maintDone: make(chan struct{}),
	}
	s.core = sqlcore.New(backend{s}, dialect(), o.Logger)
	s.locks = newLocker(s)
	if err := migrate(ctx, pool, s.log); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	l, err := startListener(ctx, s)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s.listener = l
	s.notifier = newNotifier(s)
	if o.FeedSweep <= 0 {
		o.FeedSweep = defaultSweep
	}
	s.sweeper = startSweeper(s, o.FeedSweep)
	go s.maintain()
	return s, nil
}

// Close ends every feed subscription, releases this node's locks and
// closes the connections. Calls made afterwards return store.ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.maintStop)
	<-s.maintDone
	s.sweeper.close()
	s.notifier.close() // no write is in flight: it sends all there is
	s.listener.stop()
	s.feed.close()
	s.locks.close()
	s.pool.Close()
	return nil
}

// enter marks a call in flight; leave ends it.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }
