package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"mailhouse/internal/store"
)

// locker implements store.Locker across nodes with PostgreSQL
// session-level advisory locks, all held on one dedicated connection of
// this node. An advisory lock is re-entrant within its session, so the
// node also keeps the names it holds: a second TryLock on this node fails
// here before asking the server.
//
// If the connection drops, the server releases every lock it held; the
// node then forgets them all (the next TryLock reconnects), so a lock is
// never believed held by two nodes for longer than it takes this node to
// notice.
type locker struct {
	s    *Store
	mu   sync.Mutex
	conn *pgx.Conn // nil until first used or after a failure
	held map[string]uint64
	next uint64 // token of the next lock taken, so a stale unlock is harmless
}

func newLocker(s *Store) *locker { return &locker{s: s, held: make(map[string]uint64)} }

// lockKey maps a lock name to the 64-bit advisory lock key.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("mailhouse:" + name))
	return int64(h.Sum64())
}

// TryLock implements store.Locker. The returned unlock may be called more
// than once; only the first call releases.
func (s *Store) TryLock(ctx context.Context, name string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	l := s.locks
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[name]; ok {
		return nil, fmt.Errorf("lock %q: %w", name, store.ErrLocked)
	}
	if l.conn == nil || l.conn.IsClosed() {
		l.reset()
		c, err := pgx.ConnectConfig(ctx, s.cfg)
		if err != nil {
			return nil, fmt.Errorf("lock %q: %w", name, err)
		}
		l.conn = c
	}
	var ok bool
	if err := l.conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(name)).Scan(&ok); err != nil {
		l.reset()
		return nil, fmt.Errorf("lock %q: %w", name, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %q: %w", name, store.ErrLocked)
	}
	l.next++
	token := l.next
	l.held[name] = token
	var once sync.Once
	return func() { once.Do(func() { l.unlock(name, token) }) }, nil
}

func (l *locker) unlock(name string, token uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] != token {
		return // released with its connection already
	}
	delete(l.held, name)
	if l.conn == nil {
		return
	}
	if _, err := l.conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey(name)); err != nil {
		l.s.log.Warn("pgstore: releasing a lock failed; dropping the lock connection", "lock", name, "err", err)
		l.reset()
	}
}

// reset drops the connection and, with it, every lock it held.
func (l *locker) reset() {
	if l.conn != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	}
	clear(l.held)
}

// close releases every lock (Store.Close). It unlocks explicitly before
// closing the connection: the server drops a closed session's locks
// only once its backend has noticed the goodbye, which another node may
// race.
func (l *locker) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()") // closing releases them anyway
		cancel()
	}
	l.reset()
}
