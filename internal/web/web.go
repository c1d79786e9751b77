// Package web serves mailhouse over HTTP and HTTPS: plain HTTP redirects
// to HTTPS, and HTTPS serves the pages. For now that is the settings help
// page generated from the running configuration; the webmail, admin
// console and client auto-configuration come as sub-packages.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Endpoint is one way a mail client can reach a service.
type Endpoint struct {
	Protocol string // "IMAP", "POP3", "SMTP"
	Port     int
	Security string // "SSL/TLS" or "STARTTLS"
}

// Options configure the web server.
type Options struct {
	Hostname  string
	TLS       *tls.Config
	Endpoints []Endpoint
	// HTTPSPort is the port plain HTTP redirects to (443 if zero).
	HTTPSPort int
	Logger    *slog.Logger
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.settings)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.secure = &http.Server{
		Handler:           securityHeaders(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	s.plain = &http.Server{
		Handler:           http.HandlerFunc(s.redirect),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// ServeHTTPS serves pages over TLS on ln.
func (s *Server) ServeHTTPS(ln net.Listener) error {
	err := s.secure.Serve(tls.NewListener(ln, s.o.TLS))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP serves redirects to HTTPS on ln.
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

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

var settingsPage = template.Must(template.New("settings").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Email settings for {{.Hostname}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd}</style>
</head><body>
<h1>Email settings</h1>
<p>Use these settings in any mail program. The user name is always your <strong>full email address</strong>, and the password is the same for receiving and sending.</p>
<table><thead><tr><th>Protocol</th><th>Server</th><th>Port</th><th>Security</th></tr></thead><tbody>
{{range .Endpoints}}<tr><td>{{.Protocol}}</td><td>{{$.Hostname}}</td><td>{{.Port}}</td><td>{{.Security}}</td></tr>
{{end}}</tbody></table>
<p>Outgoing mail (SMTP) requires authentication with the same user name and password.</p>
</body></html>`))

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := settingsPage.Execute(w, s.o); err != nil {
		s.o.Logger.Error("settings page", "err", err)
	}
}
