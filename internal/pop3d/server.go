package pop3d

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

// Defaults of the Options that are not in config.POP3.
const (
	// DefaultIdleTimeout is RFC 1939 §3's minimum autologout timer.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxAuthFailures failed logins close the session.
	DefaultMaxAuthFailures = 3
	// DefaultMaxErrors protocol errors (unknown commands, bad arguments,
	// wrong state, over-long lines) close the session.
	DefaultMaxErrors = 20
	// DefaultHandshakeTimeout bounds a TLS handshake (pop3s or STLS).
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultSizeCacheEntries bounds the server-wide cache of POP3 sizes.
	DefaultSizeCacheEntries = 200_000
)

// Options configure a Server.
type Options struct {
	// Hostname is shown in the greeting.
	Hostname string
	// TLS serves pop3s and STLS. Without it STLS is not offered, and
	// since logins need TLS nobody can log in on a plaintext listener.
	TLS   *tls.Config
	Store store.Store
	Auth  *auth.Authenticator
	// Config holds the idle time-out (default 10 minutes, the RFC 1939
	// minimum) and the failed logins per session (default 3).
	Config config.POP3
	Logger *slog.Logger
	// Expire is the INBOX retention policy announced by CAPA EXPIRE
	// (RFC 2449 §6.7): "NEVER" (the default) or a number of days.
	Expire string
	// ExpireFor, if set, is the account's INBOX retention in days (0:
	// never), e.g. from retention.Job.Days. CAPA then says "EXPIRE
	// <Expire> USER" before login and the account's own value after
	// (RFC 2449 §6.7).
	ExpireFor func(ctx context.Context, acct store.Account) (days int, err error)
	// MaxErrors protocol errors close a session; default DefaultMaxErrors.
	MaxErrors int
	// HandshakeTimeout bounds a TLS handshake; default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// SizeCacheEntries bounds the cache of computed POP3 message sizes
	// shared by all sessions; default DefaultSizeCacheEntries.
	SizeCacheEntries int
}

// Server is a POP3 server. It is safe for concurrent use.
type Server struct {
	o     Options
	log   *slog.Logger
	sizes *sizeCache

	closing atomic.Bool
	mu      sync.Mutex
	lns     map[net.Listener]struct{}
	conns   map[*session]struct{}
	wg      sync.WaitGroup
}

// New returns a Server. Zero limits take their defaults.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Config.IdleTimeout.Duration <= 0 {
		o.Config.IdleTimeout.Duration = DefaultIdleTimeout
	}
	if o.Config.MaxAuthFail <= 0 {
		o.Config.MaxAuthFail = DefaultMaxAuthFailures
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.SizeCacheEntries <= 0 {
		o.SizeCacheEntries = DefaultSizeCacheEntries
	}
	if !validExpire(o.Expire) {
		o.Logger.Warn("pop3: bad Expire value, announcing NEVER", "expire", o.Expire)
		o.Expire = ""
	}
	if o.Expire == "" {
		o.Expire = "NEVER"
	}
	if o.TLS == nil {
		o.Logger.Warn("pop3: no TLS configuration: STLS is not offered and logins are refused")
	}
	return &Server{
		o:     o,
		log:   o.Logger,
		sizes: newSizeCache(o.SizeCacheEntries),
		lns:   map[net.Listener]struct{}{},
		conns: map[*session]struct{}{},
	}
}

// validExpire accepts "", "NEVER" or a number of days (RFC 2449 §6.7).
func validExpire(s string) bool {
	if s == "" || s == "NEVER" {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && strconv.Itoa(n) == s
}

// Serve accepts connections on ln until it is closed (or Shutdown is
// called) and serves each in its own goroutine. With implicitTLS
// (pop3s, port 995) every connection starts with a TLS handshake;
// otherwise (port 110) the session is plaintext until STLS. It returns
// nil after Shutdown, else the listener's error.
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	if implicitTLS && s.o.TLS == nil {
		return errors.New("pop3: implicit TLS needs Options.TLS")
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return nil
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if transientAccept(err) {
				// Out of file descriptors or buffers: wait and retry, as
				// net/http does, rather than stop serving.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("pop3: accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.track(c, implicitTLS) {
			Busy(c, "server shutting down")
			_ = c.Close()
		}
	}
}

func transientAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// track registers and starts a session, or reports false when the server
// is shutting down.
func (s *Server) track(c net.Conn, implicitTLS bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	sess := newSession(s, c, implicitTLS)
	s.conns[sess] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, sess)
			s.mu.Unlock()
		}()
		sess.serve()
	}()
	return true
}

// Shutdown stops accepting connections and ends every session: a session
// waiting for a command gets "-ERR [SYS/TEMP]" and is closed without
// entering the UPDATE state, so marked deletions are not committed; a
// command under way is let finish. Sessions still open when ctx ends are
// closed hard and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.lns {
		_ = ln.Close()
	}
	for sess := range s.conns {
		sess.interrupt()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.conns {
			sess.kill()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// Busy writes POP3's "too busy" reply (a negative greeting, RFC 2449 §8
// SYS/TEMP) to a connection the caller is about to close. The app's
// LimitListener uses it for plaintext listeners.
func Busy(c net.Conn, reason string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("-ERR [SYS/TEMP] " + sanitizeText(reason) + "\r\n"))
}

// sanitizeText keeps a reply text on one line.
func sanitizeText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}
