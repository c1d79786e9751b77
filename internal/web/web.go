// Package web serves mailhouse over HTTP and HTTPS, and holds what its
// web parts share: sessions (session.go), CSRF checks (csrf.go) and the
// security headers (headers.go).
//
// HTTPS serves the email settings help page and the client
// auto-configuration documents (internal/web/autoconfig), and mounts the
// admin console and API (internal/web/admin) and, later, the webmail,
// which the app builds and passes in as handlers: sub-packages import
// this one, never the other way round. Plain HTTP answers only the
// auto-configuration documents (Thunderbird asks
// http://autoconfig.<domain>/ first) and redirects everything else to
// HTTPS.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/web/autoconfig"
)

// Endpoint is one way a mail client can reach a service: Protocol
// "IMAP", "POP3" or "SMTP", Security "SSL/TLS" or "STARTTLS".
type Endpoint = autoconfig.Endpoint

// Options configure the web server.
type Options struct {
	Hostname string
	TLS      *tls.Config
	// Endpoints are the client-facing mail listeners the help page and
	// the auto-configuration documents describe.
	Endpoints []Endpoint
	// HTTPSPort is the port plain HTTP redirects to and links name (443
	// if zero).
	HTTPSPort int
	// MaxMessageBytes is shown on the help page (0: not shown).
	MaxMessageBytes int64
	// Retention is how long messages are kept (0: until deleted), for the
	// help page's POP3 advice.
	Retention time.Duration
	// Domains tells which domains are hosted: the documents answer only
	// for those. Nil answers for none.
	Domains store.Directory
	// Admin serves /admin and /api/admin/ (admin.New); nil leaves them
	// out.
	Admin http.Handler
	// Webmail serves /mail/ (webmail.New); the site's root then leads
	// there, and the settings page stays at /settings. Nil leaves it out.
	Webmail http.Handler
	// WrapHTTP wraps the plain-HTTP handler, outermost (the ACME HTTP-01
	// challenge responder); nil leaves it as it is.
	WrapHTTP func(http.Handler) http.Handler
	Logger   *slog.Logger
}

// Server serves HTTP and HTTPS.
type Server struct {
	o      Options
	plain  *http.Server
	secure *http.Server
}

// New returns a Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o}
	settings := autoconfig.Settings{
		Hostname: o.Hostname, Endpoints: autoconfig.Sorted(o.Endpoints), HTTPSPort: o.HTTPSPort,
		Retention: o.Retention, MaxMessageBytes: o.MaxMessageBytes,
	}
	ac := autoconfig.New(autoconfig.Options{
		Settings:      func() autoconfig.Settings { return settings },
		Hosted:        s.hosted,
		Logger:        o.Logger,
		RequestLogger: func(r *http.Request) *slog.Logger { return Logger(r, o.Logger) },
	})

	mux := http.NewServeMux()
	ac.RegisterDocuments(mux)
	ac.RegisterPages(mux)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /.well-known/mta-sts.txt", s.mtaSTS)
	if o.Admin != nil {
		mux.Handle("/admin", o.Admin)
		mux.Handle("/admin/", o.Admin)
		mux.Handle("/api/admin/", o.Admin)
	}
	var root http.Handler = mux
	if o.Webmail != nil {
		mux.Handle("/mail/", o.Webmail)
		mux.Handle("/mail", o.Webmail)
		root = webmailAtRoot(mux)
	}
	s.secure = &http.Server{
		Handler:           logRequests(o.Logger, SecurityHeaders(root)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}

	pmux := http.NewServeMux()
	ac.RegisterDocuments(pmux)
	pmux.HandleFunc("GET /healthz", healthz)
	pmux.HandleFunc("/", s.redirect)
	var plain http.Handler = pmux
	if o.WrapHTTP != nil {
		plain = o.WrapHTTP(plain)
	}
	s.plain = &http.Server{
		Handler:           logRequests(o.Logger, plain),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// hosted reports whether the store has the domain.
func (s *Server) hosted(ctx context.Context, domain string) (bool, error) {
	if s.o.Domains == nil {
		return false, nil
	}
	_, err := s.o.Domains.GetDomain(ctx, domain)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ServeHTTPS serves pages over TLS on ln.
func (s *Server) ServeHTTPS(ln net.Listener) error {
	err := s.secure.Serve(tls.NewListener(ln, s.o.TLS))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP serves the auto-configuration documents and redirects to
// HTTPS on ln.
func (s *Server) ServeHTTP(ln net.Listener) error {
	err := s.plain.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown ends both servers gracefully.
func (s *Server) Shutdown(ctx context.Context) error {
	return errors.Join(s.plain.Shutdown(ctx), s.secure.Shutdown(ctx))
}

func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		host = s.o.Hostname
	}
	if s.o.HTTPSPort != 0 && s.o.HTTPSPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(s.o.HTTPSPort))
	}
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
}

// webmailAtRoot sends people who type https://mail.<domain>/ to the
// webmail; everything else goes to the mux.
func webmailAtRoot(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, "/mail/", http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}
