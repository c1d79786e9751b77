package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"mailhouse/internal/store"
)

// maxBatch bounds how many writes share one transaction, so that one
// group's commit latency stays bounded when the queue is long. It is also
// the capacity of the queue.
const maxBatch = 256

// op states: a caller that gives up (its context ended) and the committer
// race to move an op out of opPending; whoever wins decides whether it
// runs, so a caller never gets a context error for a write that committed.
const (
	opPending int32 = iota
	opTaken
	opAbandoned
)

// op is one write submitted to the committer.
type op struct {
	fn     func(*wtx) error
	state  atomic.Int32
	err    error         // set by the committer before done is closed
	events []store.Event // what fn changed, published after commit
	done   chan struct{}
}

// wtx is what a write function sees: the shared transaction, and a place
// to note the events its change causes. Events of a function that fails
// are discarded with its savepoint.
type wtx struct {
	s      *Store
	events []store.Event
}

// write submits fn to the committer and waits until the group it ran in
// has committed. A nil error means fn's changes are durable. fn must only
// touch the database through w and must not keep w.
//
// If ctx ends before the committer has started fn, fn never runs and
// ctx.Err() is returned; once started, the outcome is waited for.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()

	select {
	case <-o.done:
	case <-ctx.Done():
		if o.state.CompareAndSwap(opPending, opAbandoned) {
			return ctx.Err()
		}
		// The committer has it: its outcome is final and near (one group).
		<-o.done
	}
	return o.err
}

// maxGather bounds how long the committer waits for more writes before
// committing a group smaller than the last one (see commitLoop).
const maxGather = 5 * time.Millisecond

// gatherWindow is how many groups back the committer looks to estimate
// the number of writers.
const gatherWindow = 16

// commitLoop is the committer goroutine. It takes every op already
// waiting, up to maxBatch, and commits them as one group.
//
// Writers that were answered together tend to come back together (each
// SMTP session sends its next message), but not at the same instant: the
// first one back would otherwise get a commit (an fsync) of its own while
// the rest queue behind it, and the writers settle into two groups that
// take turns, which doubles the fsyncs per message just when the disk is
// slow. So the committer expects back the writers of the last two groups
// (no more than the largest group of the last gatherWindow, an estimate
// of how many writers there are) and, when fewer ops are waiting, waits
// for the others a little: at most as long as the last commit took, and
// never more than maxGather. A lone writer never waits. Nobody is
// answered before their group has committed.
func (s *Store) commitLoop() {
	defer close(s.committerDone)
	batch := make([]*op, 0, maxBatch)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	var sizes [gatherWindow]int // sizes of the last groups, a ring
	turn := 0
	lastDur := time.Duration(0) // how long the last group took
	closed := false
	for !closed {
		o, ok := <-s.ops
		if !ok {
			return
		}
		batch = append(batch[:0], o)
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					closed = true
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		last, prev := sizes[(turn+gatherWindow-1)%gatherWindow], sizes[(turn+gatherWindow-2)%gatherWindow]
		if want := min(last+prev, slices.Max(sizes[:]), maxBatch); !closed && len(batch) < want && lastDur > 0 {
			gather.Reset(min(lastDur, maxGather))
		wait:
			for len(batch) < want {
				select {
				case o, ok := <-s.ops:
					if !ok {
						closed = true
						break wait
					}
					batch = append(batch, o)
				case <-gather.C:
					break wait
				}
			}
			gather.Stop()
		}
		run := batch[:0:0]
		for _, o := range batch {
			if o.state.CompareAndSwap(opPending, opTaken) {
				run = append(run, o)
			}
		}
		start := time.Now()
		s.commitGroup(run)
		lastDur = time.Since(start)
		sizes[turn] = len(run)
		turn = (turn + 1) % gatherWindow
		clear(batch) // drop references to answered ops
	}
}

// commitGroup runs ops in one transaction and answers them.
func (s *Store) commitGroup(ops []*op) {
	for len(ops) > 0 {
		done, rest := s.runGroup(ops)
		for _, o := range done {
			close(o.done)
		}
		// Events go out after the callers are answered and only for what
		// committed, so that a session woken by one finds the change.
		for _, o := range done {
			if o.err == nil {
				s.feed.publish(o.events)
			}
		}
		ops = rest
	}
}

// runGroup runs as many of ops as one transaction allows and returns
// those it has an outcome for (err set) and those still to run. Usually
// rest is empty; it is not when an error has aborted the whole
// transaction (SQLite rolls back by itself on e.g. SQLITE_FULL or an I/O
// error): the ops after that point then get a fresh transaction instead
// of a failure that was not theirs.
func (s *Store) runGroup(ops []*op) (done, rest []*op) {
	if err := s.begin(); err != nil {
		for _, o := range ops {
			o.err = fmt.Errorf("sqlstore: begin: %w", err)
		}
		return ops, nil
	}
	var txErr error
	n := 0
	for _, o := range ops {
		n++
		if txErr = s.runOp(o); txErr != nil {
			break
		}
	}
	if txErr == nil {
		if err := s.wexec("COMMIT"); err != nil {
			txErr = fmt.Errorf("sqlstore: commit: %w", err)
		} else {
			s.kickCheckpoint()
		}
	}
	if txErr != nil {
		// Whatever ran in this transaction is lost: make sure it is over.
		// ROLLBACK fails harmlessly if SQLite already rolled back.
		_ = s.wexec("ROLLBACK")
		for _, o := range ops[:n] {
			if o.err == nil {
				o.err = txErr
			}
			o.events = nil
		}
	}
	return ops[:n], ops[n:]
}

// begin starts the group's transaction. A transaction left open by a
// failure that even ROLLBACK could not end would refuse every later BEGIN:
// on failure, end it and retry once.
func (s *Store) begin() error {
	err := s.wexec("BEGIN IMMEDIATE")
	if err == nil {
		return nil
	}
	_ = s.wexec("ROLLBACK")
	err = s.wexec("BEGIN IMMEDIATE")
	return err
}

// runOp runs one op inside a savepoint. The op's own failure is recorded
// in o.err and rolled back to the savepoint; the returned error is one
// that ended the whole transaction.
func (s *Store) runOp(o *op) error {
	if err := s.wexec("SAVEPOINT op"); err != nil {
		o.err = fmt.Errorf("sqlstore: savepoint: %w", err)
		return o.err
	}
	w := &wtx{s: s}
	o.err = s.call(o.fn, w)
	if o.err == nil {
		if err := s.wexec("RELEASE op"); err != nil {
			o.err = fmt.Errorf("sqlstore: release savepoint: %w", err)
			return o.err
		}
		o.events = w.events
		return nil
	}
	if err := s.wexec("ROLLBACK TO op"); err != nil {
		// The savepoint is gone: SQLite rolled back the transaction.
		return fmt.Errorf("sqlstore: transaction aborted: %w", errors.Join(o.err, err))
	}
	if err := s.wexec("RELEASE op"); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return nil
}

// call runs fn, turning a panic into an error so that one bad write does
// not take the committer, and with it every later write, down.
func (s *Store) call(fn func(*wtx) error, w *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("sqlstore: panic in write", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("sqlstore: internal error: %v", r)
		}
	}()
	return fn(w)
}

// maxCachedStmts bounds each prepared-statement cache (writer, readers):
// past it, statements are prepared per call, so that queries built with
// varying text cannot make the cache grow without end.
const maxCachedStmts = 256

// wstmt returns the write connection's prepared statement for q,
// preparing it once, or nil when the cache is full. Only the committer
// (and Open before it starts) uses the write connection, so the cache
// needs no lock.
func (s *Store) wstmt(q string) (*sql.Stmt, error) {
	if st, ok := s.wstmts[q]; ok {
		return st, nil
	}
	if len(s.wstmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := s.wconn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: prepare %q: %w", q, err)
	}
	s.wstmts[q] = st
	return st, nil
}

// wexec runs a statement on the write connection (committer only).
func (s *Store) wexec(q string) error {
	_, err := (&wtx{s: s}).exec(q)
	return err
}

// Writes run with a background context: once the committer has taken an
// op it runs to the end, whatever happens to the caller (see write).

func (w *wtx) exec(q string, args ...any) (sql.Result, error) {
	st, err := w.s.wstmt(q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return w.s.wconn.ExecContext(context.Background(), q, args...)
	}
	return st.Exec(args...)
}

// execN runs q and returns the number of rows it changed.
func (w *wtx) execN(q string, args ...any) (int64, error) {
	r, err := w.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (w *wtx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := w.s.wstmt(q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return w.s.wconn.QueryContext(context.Background(), q, args...)
	}
	return st.Query(args...)
}

// queryRow runs q and scans its first row into dest; sql.ErrNoRows if
// there is none.
func (w *wtx) queryRow(q string, args []any, dest ...any) error {
	rows, err := w.query(q, args...)
	if err != nil {
		return err
	}
	return scanOne(rows, dest...)
}

// scanOne scans the first row of rows into dest and closes rows; it is
// sql.Row.Scan for a *sql.Rows.
func scanOne(rows *sql.Rows, dest ...any) error {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// event notes a change to publish once the transaction commits.
func (w *wtx) event(ev store.Event) {
	w.events = append(w.events, ev)
}
