// Package imapd is mailhouse's IMAP server: IMAP4rev2 (RFC 9051) and
// IMAP4rev1 (RFC 3501) with the extensions listed in capabilities.go, on
// a plaintext listener with STARTTLS (port 143) and an implicit-TLS one
// (port 993).
//
// The wire format (commands, literals, strings) lives in the imapwire
// sub-package; this package holds the session state machine and the
// commands, and talks to storage only through store.Store, to delivery
// for APPEND, and to auth for logins. ENVELOPE and BODYSTRUCTURE come from
// the structure computed once at delivery (internal/message), never from
// re-parsing a message at FETCH time.
//
// A selected session keeps its own view of the mailbox (the UIDs in
// sequence order and the modseq it has seen) and brings it up to date from
// the store's change feed, sending EXISTS, EXPUNGE and FETCH FLAGS only
// where RFC 9051 §7.5.1 (RFC 3501 §7.4.1) allows: never an EXPUNGE while answering FETCH,
// STORE or SEARCH by sequence number.
//
// For clients that resynchronise large mailboxes it serves CONDSTORE and
// QRESYNC (condstore.go: modseqs, VANISHED, resync on SELECT from the
// store's bounded expunge history), QUOTA (quota.go), server-side SORT
// and THREAD (sort.go, thread.go, subject.go) and COMPRESS=DEFLATE under
// TLS (compress.go, with its own streaming decoder in inflate.go).
// CONFORMANCE.md goes through RFC 9051 and RFC 3501 command by command.
//
// Not here: MULTIAPPEND, CATENATE, ACL, METADATA, NOTIFY, ESORT.
package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
)

// Options configure a Server.
type Options struct {
	// Hostname names the server in the greeting.
	Hostname string
	// TLS serves STARTTLS and implicit TLS; nil turns both off (tests
	// only: LOGIN then stays disabled on plaintext connections).
	TLS       *tls.Config
	Store     store.Store
	Auth      *auth.Authenticator
	Deliverer *delivery.Deliverer
	// Config holds the limits; zero fields get config's defaults.
	Config config.IMAP
	Logger *slog.Logger
	// AllowInsecureAuth permits LOGIN and AUTHENTICATE without TLS (for
	// tests with clients that cannot do STARTTLS).
	AllowInsecureAuth bool
	// Version is what ID reports (RFC 2971), e.g. app.Version; "dev"
	// when empty.
	Version string
	// MaxCompressed bounds the sessions using COMPRESS at once (each
	// holds about 1.3 MB of DEFLATE state); 0 means 256.
	MaxCompressed int
}

// Limits not in config.
const (
	// maxPreAuthLiteral bounds literals before login (user names and
	// passwords).
	maxPreAuthLiteral = 8 << 10
	// maxCommandLiteral bounds literals of commands other than APPEND.
	maxCommandLiteral = 64 << 10
	// writeTimeout bounds how long a client may take to read a response.
	writeTimeout = 5 * time.Minute
	// maxAuthFailures ends a session after this many failed logins.
	maxAuthFailures = 3
)

// Server is an IMAP server. It is safe for concurrent use.
type Server struct {
	o    Options
	log  *slog.Logger
	sync store.Sync // o.Store's, or a fallback

	mu         sync.Mutex
	listeners  map[net.Listener]bool
	sessions   map[*session]bool
	perAcct    map[store.AccountID]int
	compressed int // sessions with COMPRESS active
	closing    bool
	wg         sync.WaitGroup
	done       chan struct{} // closed by Shutdown
	panics     atomic.Int64  // sessions ended by a recovered panic (a bug)

	// feeds are the store subscriptions shared by each account's
	// selected sessions (feed.go).
	feedMu sync.Mutex
	feeds  map[store.AccountID]*accountFeed
	// readers and writers hold the buffers of sessions waiting for
	// input (session.waitInput).
	readers, writers sync.Pool
	structs          structCache // decoded structures shared by the sessions (structcache.go)
}

// New returns a Server.
func New(o Options) *Server {
	c := &o.Config
	setDefault(&c.MaxLineLength, 64<<10)
	if c.MaxLiteralBytes <= 0 {
		c.MaxLiteralBytes = 25 << 20
	}
	if c.UnauthTimeout.Duration <= 0 {
		c.UnauthTimeout.Duration = 60 * time.Second
	}
	if c.IdleTimeout.Duration <= 0 {
		c.IdleTimeout.Duration = 30 * time.Minute
	}
	setDefault(&c.MaxCommands, 1_000_000)
	setDefault(&c.MaxErrors, 50)
	setDefault(&c.MaxSearchNesting, 32)
	setDefault(&c.MaxConnsPerAccount, 50)
	setDefault(&o.MaxCompressed, 256)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	srv := &Server{
		o:         o,
		log:       o.Logger.With("service", "imap"),
		sync:      storeSync(o.Store),
		listeners: map[net.Listener]bool{},
		sessions:  map[*session]bool{},
		perAcct:   map[store.AccountID]int{},
		feeds:     map[store.AccountID]*accountFeed{},
		done:      make(chan struct{}),
	}
	srv.readers.New = func() any { return bufio.NewReaderSize(nil, readBufSize) }
	srv.writers.New = func() any { return bufio.NewWriterSize(nil, writeBufSize) }
	return srv
}

func setDefault(p *int, v int) {
	if *p <= 0 {
		*p = v
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imapd: server closed")

// Serve accepts connections on ln until it is closed or Shutdown is
// called. With implicitTLS every connection starts with a TLS handshake
// (port 993); otherwise clients may use STARTTLS (port 143).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.o.TLS == nil {
		return errors.New("imapd: implicit TLS needs Options.TLS")
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			if netx.IsClosed(err) {
				return nil
			}
			return err
		}
		tempDelay = 0
		sess := s.newSession(c, implicitTLS)
		if !s.track(sess) {
			_ = c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(sess)
			sess.serve()
		}()
	}
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[sess] = true
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
	if sess.account.ID != 0 {
		if s.perAcct[sess.account.ID]--; s.perAcct[sess.account.ID] <= 0 {
			delete(s.perAcct, sess.account.ID)
		}
	}
}

// claimCompress counts a session starting COMPRESS against
// MaxCompressed; releaseCompress gives its place back.
func (s *Server) claimCompress() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compressed >= s.o.MaxCompressed {
		return false
	}
	s.compressed++
	return true
}

func (s *Server) releaseCompress() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compressed--
}

// claimAccount counts a logged-in session against its account's limit.
func (s *Server) claimAccount(id store.AccountID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perAcct[id] >= s.o.Config.MaxConnsPerAccount {
		return false
	}
	s.perAcct[id]++
	return true
}

// Shutdown stops accepting connections, tells every session "* BYE" at
// its next safe point (at once when it waits for a command or idles) and
// waits for them to end. When ctx ends first, the remaining connections
// are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
	}
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for sess := range s.sessions {
		sess.interrupt()
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			sess.mu.Lock()
			c := sess.conn
			sess.mu.Unlock()
			_ = c.Close()
		}
		s.mu.Unlock()
		<-finished
		return ctx.Err()
	}
}

// Busy writes the "too busy" reply to a connection refused by a
// connection limit (netx.LimitListener) on a plaintext listener.
func Busy(c net.Conn, reason string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "* BYE [UNAVAILABLE] %s\r\n", reason)
}
