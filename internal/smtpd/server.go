package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/netx"
)

// Options configure a Server. Hostname, Deliverer, Resolver and Auth are
// required; TLS is required for submission.
type Options struct {
	// Hostname is the server's name in the greeting and Received headers.
	Hostname string
	// TLS serves STARTTLS and port 465; nil turns STARTTLS off.
	TLS *tls.Config
	// Deliverer resolves recipients and stores messages.
	Deliverer *delivery.Deliverer
	// Resolver answers the submission sender check (Owns).
	Resolver *directory.Resolver
	// Auth checks submission logins.
	Auth *auth.Authenticator
	// Config holds the limits; a zero field takes the config default.
	Config config.SMTP
	// Outbound says that Deliverer has an outbound queue, so that
	// submission accepts recipients in other domains. Without it they get
	// 451 4.4.0 at RCPT time (nothing is dropped).
	Outbound bool
	// Verifier checks SPF, DKIM and DMARC of mail received on port 25;
	// nil skips the checks.
	Verifier *mailauth.Verifier
	Logger   *slog.Logger
	// Now is the clock for Received headers; nil means time.Now.
	Now func() time.Time
	// SendLimits bound what one account submits per hour (ratelimit.go).
	SendLimits SendLimits
	// OnSendLimit, if set, is told (once an hour per account) that an
	// account hit its sending limit, e.g. to notify the administrator;
	// it must not block. The event is logged either way.
	OnSendLimit func(account string)
}

// Defaults of config.SMTP, applied to zero fields (see config.applyDefaults).
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxRecipients   = 100
	DefaultMaxLineLength   = 4096
	DefaultCommandTimeout  = 5 * time.Minute // RFC 5321 §4.5.3.2.7
	DefaultDataTimeout     = 10 * time.Minute
	DefaultMaxErrors       = 10
)

// goodbyeTimeout bounds writing the 421 goodbye to one client at shutdown.
const goodbyeTimeout = time.Second

// mode is the kind of listener a connection came in on.
type mode int

const (
	modeMX          mode = iota // port 25: local domains only, no AUTH
	modeSubmission              // 587/2525: STARTTLS, then AUTH
	modeSubmissions             // 465: implicit TLS, then AUTH
)

func (m mode) String() string {
	switch m {
	case modeMX:
		return "smtp"
	case modeSubmission:
		return "submission"
	}
	return "submissions"
}

// Server serves the three SMTP listener kinds from one configuration. It
// is safe for concurrent use.
type Server struct {
	o       Options
	log     *slog.Logger
	servers [3]*smtp.Server // by mode

	ctx    context.Context // cancelled when shutdown gives up waiting
	cancel context.CancelFunc

	shutting  atomic.Bool
	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[*listener]struct{}
	rate      *rateLimiter
}

// New returns a Server; it does not listen yet.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &o.Config
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.MaxLineLength <= 0 {
		c.MaxLineLength = DefaultMaxLineLength
	}
	if c.CommandTimeout.Duration <= 0 {
		c.CommandTimeout.Duration = DefaultCommandTimeout
	}
	if c.DataTimeout.Duration <= 0 {
		c.DataTimeout.Duration = DefaultDataTimeout
	}
	if c.MaxErrors <= 0 {
		c.MaxErrors = DefaultMaxErrors
	}
	s := &Server{o: o, log: o.Logger, conns: map[*conn]struct{}{}, listeners: map[*listener]struct{}{}}
	s.rate = newRateLimiter(o.SendLimits, o.Now)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range []mode{modeMX, modeSubmission, modeSubmissions} {
		s.servers[m] = s.newLibServer(m)
	}
	return s
}

// newLibServer configures one go-smtp server. Its limits default to
// "unlimited", so every one is set here.
func (s *Server) newLibServer(m mode) *smtp.Server {
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return s.newSession(c, m) })
	ls := smtp.NewServer(be)
	ls.Domain = s.o.Hostname
	ls.MaxMessageBytes = s.o.Config.MaxMessageBytes
	ls.MaxRecipients = s.o.Config.MaxRecipients
	ls.MaxLineLength = s.o.Config.MaxLineLength
	ls.ReadTimeout = s.o.Config.CommandTimeout.Duration
	ls.WriteTimeout = s.o.Config.CommandTimeout.Duration
	ls.EnableSMTPUTF8 = true
	// AUTH is gated by the session (AuthMechanisms, Auth), so that a
	// client asking before TLS gets 530 5.7.0 rather than the library's
	// 523; before TLS no mechanism is advertised.
	ls.AllowInsecureAuth = true
	ls.ErrorLog = libLogger{s.log.With("listener", m.String())}
	if m != modeSubmissions {
		ls.TLSConfig = s.o.TLS // advertises STARTTLS
	}
	return ls
}

// ServeMX serves port 25 on ln until ln closes or Shutdown.
func (s *Server) ServeMX(ln net.Listener) error { return s.serve(ln, modeMX) }

// ServeSubmission serves ports 587 and 2525 (STARTTLS, then AUTH).
func (s *Server) ServeSubmission(ln net.Listener) error {
	if s.o.TLS == nil {
		return errors.New("smtpd: submission needs a TLS config")
	}
	return s.serve(ln, modeSubmission)
}

// ServeSubmissions serves port 465: ln is a plain TCP listener, and
// every connection starts with a TLS handshake (RFC 8314 §3.3).
func (s *Server) ServeSubmissions(ln net.Listener) error {
	if s.o.TLS == nil {
		return errors.New("smtpd: submissions needs a TLS config")
	}
	return s.serve(ln, modeSubmissions)
}

func (s *Server) serve(ln net.Listener, m mode) error {
	l := &listener{Listener: ln, srv: s, mode: m}
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		_ = ln.Close()
		return smtp.ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	err := s.servers[m].Serve(l)
	if err != nil && netx.IsClosed(err) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and ends sessions: an idle
// session gets "421 4.3.2" and is closed at once; a session receiving a
// message finishes it (its reply is sent) and then gets closed. When ctx
// ends first, the remaining connections are closed and Shutdown returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutting.Swap(true) {
		s.mu.Unlock()
		return smtp.ErrServerClosed
	}
	// go-smtp closes the listeners it knows; closing ours too covers a
	// Serve that started while shutdown began.
	for l := range s.listeners {
		_ = l.Close()
	}
	s.mu.Unlock()
	done := make(chan error, len(s.servers))
	for _, ls := range s.servers {
		go func() { done <- ls.Shutdown(ctx) }()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pending := len(s.servers)
	var firstErr error
	for pending > 0 {
		s.sayGoodbye()
		select {
		case err := <-done:
			pending--
			if err != nil && firstErr == nil && !errors.Is(err, smtp.ErrServerClosed) && !netx.IsClosed(err) {
				firstErr = err
			}
		case <-tick.C:
		case <-ctx.Done():
			s.cancel()
			s.closeAll()
			return ctx.Err()
		}
	}
	s.cancel()
	if err := ctx.Err(); err != nil {
		// go-smtp's own Shutdown may have returned at the deadline before
		// we saw it: close what is left either way.
		s.closeAll()
		return err
	}
	return firstErr
}

// sayGoodbye closes every connection that is not in the middle of
// receiving a message.
func (s *Server) sayGoodbye() {
	s.mu.Lock()
	var idle []*conn
	for c := range s.conns {
		if c.startGoodbye() {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range idle {
		go c.goodbye(s.o.Hostname)
	}
}

func (s *Server) closeAll() {
	s.mu.Lock()
	all := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		_ = c.Close()
	}
}

func (s *Server) track(c *conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Busy writes the "too busy" reply (RFC 5321 §3.8: 421 and close) to a
// connection refused by a connection limit, for plaintext listeners.
func Busy(c net.Conn, reason string) {
	_, _ = fmt.Fprintf(c, "421 4.7.0 %s, try again later\r\n", sanitizeText(reason))
}

// libLogger passes go-smtp's own messages to slog. They are mostly
// failed TLS handshakes and reset connections (scanners do that all day),
// so they are logged at Info. go-smtp names the client by address only;
// the connection's other lines carry the same "remote".
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "panic") {
		l.log.Error("smtp library", "detail", msg)
		return
	}
	l.log.Info("smtp library", "detail", msg)
}

func (l libLogger) Println(v ...any) {
	l.log.Info("smtp library", "detail", strings.TrimSpace(fmt.Sprintln(v...)))
}
