package sqlstore

import (
	"context"
	"fmt"
	"sync"

	"mailhouse/internal/store"
)

// locker holds named in-process locks. SQLite serves one process, so an
// in-memory set is exclusive enough; a shared (PostgreSQL) store would
// use advisory locks instead.
type locker struct {
	mu   sync.Mutex
	held map[string]struct{}
}

func newLocker() *locker { return &locker{held: make(map[string]struct{})} }

// TryLock implements store.Locker. The returned unlock may be called more
// than once; only the first call releases.
func (s *Store) TryLock(ctx context.Context, name string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.closeMu.RLock()
	closed := s.closed
	s.closeMu.RUnlock()
	if closed {
		return nil, store.ErrClosed
	}
	l := s.locks
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[name]; ok {
		return nil, fmt.Errorf("lock %q: %w", name, store.ErrLocked)
	}
	l.held[name] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, nil
}
