package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlcore"
)

// Options configure Open.
type Options struct {
	// Path is the database file; it is created if missing. Its directory
	// must exist. SQLite keeps Path-wal and Path-shm beside it.
	Path string
	// Logger receives migration and maintenance messages; nil discards.
	Logger *slog.Logger

	// migrations replaces the embedded schema files (tests: a database
	// of an older schema version); nil means migrationFiles.
	migrations fs.FS
}

// busyTimeout bounds how long a connection waits for a lock held by
// another process (a backup tool, the CLI) before failing with
// SQLITE_BUSY. Inside this process the single writer never waits.
const busyTimeout = 10 * time.Second

// readerMaxIdle is how long an unused read connection stays open.
const readerMaxIdle = 10 * time.Second

// Store is a store.Store on one SQLite database. It is safe for
// concurrent use. Close it to flush and stop the committer.
type Store struct {
	*core // the store's logic, shared with pgstore

	log *slog.Logger

	wdb   *sql.DB   // one connection, used only by the committer
	wconn *sql.Conn // that connection, held for the Store's life
	rdb   *sql.DB   // read-only pool
	cdb   *sql.DB   // one read-only connection for WAL checkpoints

	ops           chan *op      // writes waiting for the committer
	committerDone chan struct{} // closed when the committer has drained and stopped
	wstmts        map[string]*sql.Stmt

	rstmtMu sync.Mutex
	rstmts  map[string]*sql.Stmt

	// closeMu orders Close against calls in flight: calls hold it shared
	// while they use the databases or submit a write, Close takes it
	// exclusively to set closed.
	closeMu sync.RWMutex
	closed  bool

	feed  *feed
	locks *locker

	maintStop chan struct{}
	maintDone chan struct{}

	ckptWake chan struct{}
	ckptStop chan struct{}
	ckptDone chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at o.Path, applies
// pending migrations and starts the committer.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Path == "" {
		return nil, errors.New("sqlstore: Options.Path is empty")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	s := &Store{
		log:           o.Logger,
		ops:           make(chan *op, maxBatch),
		committerDone: make(chan struct{}),
		wstmts:        make(map[string]*sql.Stmt),
		rstmts:        make(map[string]*sql.Stmt),
		feed:          newFeed(),
		locks:         newLocker(),
		maintStop:     make(chan struct{}),
		maintDone:     make(chan struct{}),
		ckptWake:      make(chan struct{}, 1),
		ckptStop:      make(chan struct{}),
		ckptDone:      make(chan struct{}),
	}
	s.core = sqlcore.New(backend{s}, dialect(), o.Logger)
	if err := s.openDBs(ctx, abs); err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.wconn, o.migrations, s.log); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlstore: %s: %w", abs, err)
	}
	go s.commitLoop()
	go s.checkpointLoop()
	go s.maintain()
	return s, nil
}

// dsn builds a modernc.org/sqlite data source name. A file: URI with an
// escaped path keeps a '?' or '#' in the path from being read as the
// start of the parameters.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: path}
	// url.Values.Encode sorts keys; the driver applies them in its own
	// documented order anyway (busy_timeout first, query_only last).
	return "file:" + u.EscapedPath() + "?" + params.Encode()
}

func (s *Store) openDBs(ctx context.Context, path string) error {
	busy := fmt.Sprint(busyTimeout.Milliseconds())
	// The writer: WAL so that readers never block it nor it them;
	// synchronous=FULL so that a commit is on disk when it returns (in WAL
	// mode NORMAL could lose the last commits on power loss); BEGIN
	// IMMEDIATE so that a transaction takes the write lock at its start
	// rather than failing with SQLITE_BUSY at its first write (the
	// committer says BEGIN IMMEDIATE itself; _txlock makes any
	// database/sql transaction on this connection do the same).
	w := url.Values{}
	w.Set("_busy_timeout", busy)
	w.Set("_journal_mode", "WAL")
	w.Set("_synchronous", "FULL")
	w.Set("_foreign_keys", "1")
	w.Set("_txlock", "immediate")
	w.Add("_pragma", "cache_size(-8000)")     // 8 MB of page cache for the writer
	w.Add("_pragma", "wal_autocheckpoint(0)") // checkpoint.go does it, off the commit path
	w.Add("_pragma", "temp_store(MEMORY)")    // the per-op SAVEPOINT sub-journals never touch disk
	w.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	wdb, err := sql.Open("sqlite", dsn(path, w))
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	s.wdb, s.wconn = wdb, wconn

	// Readers: query_only turns any write attempt into an error, so that a
	// bug cannot bypass the committer.
	r := url.Values{}
	r.Set("_busy_timeout", busy)
	r.Set("_foreign_keys", "1")
	r.Set("_query_only", "1")
	rdb, err := sql.Open("sqlite", dsn(path, r))
	if err != nil {
		s.closeDBs()
		return fmt.Errorf("sqlstore: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	// A read connection left unused this long is closed with its page
	// cache and prepared statements (a few MB each); reopening costs
	// about a millisecond, once per burst.
	rdb.SetConnMaxIdleTime(readerMaxIdle)
	s.rdb = rdb
	if err := rdb.PingContext(ctx); err != nil {
		s.closeDBs()
		return fmt.Errorf("sqlstore: opening %s for reading: %w", path, err)
	}

	// The checkpointer: a checkpoint copies committed pages and is allowed
	// on a query_only connection.
	cdb, err := sql.Open("sqlite", dsn(path, r))
	if err != nil {
		s.closeDBs()
		return fmt.Errorf("sqlstore: %w", err)
	}
	cdb.SetMaxOpenConns(1)
	s.cdb = cdb
	return nil
}

// ReleaseMemory gives back what the connections hold only for speed,
// for a server that has gone quiet after a burst (the app's memory
// trimmer calls it): the read connections not in use are closed (their
// page caches, parsed schemas and prepared statements, a few MB each;
// the next read opens one again in about a millisecond), and the
// writer and the checkpointer drop the clean pages of their caches
// (PRAGMA shrink_memory: pages in use or not yet written stay). Nothing
// durable is touched.
func (s *Store) ReleaseMemory(ctx context.Context) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil
	}
	n := s.rdb.Stats().MaxOpenConnections
	s.rdb.SetMaxIdleConns(0) // closes the idle ones now
	s.rdb.SetMaxIdleConns(n)
	var errs []error
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		errs = append(errs, err)
	}
	if _, err := s.cdb.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: releasing memory: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.rdb != nil {
		s.rstmtMu.Lock()
		for _, st := range s.rstmts {
			errs = append(errs, st.Close())
		}
		s.rstmtMu.Unlock()
		errs = append(errs, s.rdb.Close())
	}
	for _, st := range s.wstmts {
		errs = append(errs, st.Close())
	}
	if s.cdb != nil {
		errs = append(errs, s.cdb.Close())
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// Close waits for the writes already submitted to commit, stops the
// committer, ends every feed subscription and closes the database.
// Calls made afterwards return store.ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()

	// Nobody sends on ops once closed is set (they check it under
	// closeMu), so closing it is safe; the committer drains what is left.
	close(s.maintStop)
	<-s.maintDone
	close(s.ops)
	<-s.committerDone
	close(s.ckptStop)
	<-s.ckptDone
	s.finalCheckpoint()
	s.feed.close()
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}
