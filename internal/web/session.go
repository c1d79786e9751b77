package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"mailhouse/internal/store"
)

// Sessions are server-side login sessions in memory, one store per web
// part: the admin console and the webmail each have their own cookie, so
// a webmail login never opens the console. The cookie holds a random
// 256-bit token; the server keeps only its hash. A restart logs everyone
// out, which is acceptable for a console and a webmail.
type Sessions struct {
	o  SessionOptions
	mu sync.Mutex
	m  map[[32]byte]*Session // by token hash
}

// SessionOptions configure Sessions.
type SessionOptions struct {
	// Cookie is the cookie name; it gets the __Host- prefix (Secure,
	// Path=/, no Domain), e.g. "mh_admin".
	Cookie string
	// Idle ends a session unused for this long (default 30m); Max ends
	// any session this long after login (default 12h).
	Idle, Max time.Duration
	// Limit bounds live sessions (default 10,000); the oldest is dropped.
	Limit int
	Now   func() time.Time
}

// Session is one logged-in browser.
type Session struct {
	Account store.AccountID
	Address string
	// CSRF is the token forms must echo (see CheckCSRF).
	CSRF    string
	Created time.Time

	lastSeen time.Time
	flash    string
}

// NewSessions returns an empty session store.
func NewSessions(o SessionOptions) *Sessions {
	if o.Idle == 0 {
		o.Idle = 30 * time.Minute
	}
	if o.Max == 0 {
		o.Max = 12 * time.Hour
	}
	if o.Limit == 0 {
		o.Limit = 10_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sessions{o: o, m: map[[32]byte]*Session{}}
}

func (s *Sessions) cookieName() string { return "__Host-" + s.o.Cookie }

// RandomToken returns 32 random bytes, base64url-encoded.
func RandomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported systems
	return base64.RawURLEncoding.EncodeToString(b)
}

// Create starts a session for an account and sets its cookie.
func (s *Sessions) Create(w http.ResponseWriter, acct store.Account) *Session {
	tok := RandomToken()
	now := s.o.Now()
	sess := &Session{Account: acct.ID, Address: acct.Address, CSRF: RandomToken(), Created: now, lastSeen: now}
	s.mu.Lock()
	s.pruneLocked(now)
	if len(s.m) >= s.o.Limit {
		var oldest [32]byte
		var t time.Time
		for k, v := range s.m {
			if t.IsZero() || v.lastSeen.Before(t) {
				oldest, t = k, v.lastSeen
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(tok))] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: tok, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.o.Max / time.Second),
	})
	return sess
}

// Get returns the request's live session.
func (s *Sessions) Get(r *http.Request) (*Session, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte(c.Value))
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		delete(s.m, key)
		return nil, false
	}
	sess.lastSeen = now
	return sess, true
}

func (s *Sessions) expired(sess *Session, now time.Time) bool {
	return now.Sub(sess.lastSeen) > s.o.Idle || now.Sub(sess.Created) > s.o.Max
}

func (s *Sessions) pruneLocked(now time.Time) {
	for k, v := range s.m {
		if s.expired(v, now) {
			delete(s.m, k)
		}
	}
}

// Destroy ends the request's session and clears its cookie.
func (s *Sessions) Destroy(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		s.mu.Lock()
		delete(s.m, sha256.Sum256([]byte(c.Value)))
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// DestroyAccount ends every session of an account (after its password
// changed, or it was disabled or deleted).
func (s *Sessions) DestroyAccount(id store.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if v.Account == id {
			delete(s.m, k)
		}
	}
}

// Len is the number of live sessions (for tests and metrics).
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(s.o.Now())
	return len(s.m)
}

// SetFlash keeps a one-time message for the session's next page (the
// result of a form post, shown after its redirect).
func (s *Sessions) SetFlash(sess *Session, msg string) {
	s.mu.Lock()
	sess.flash = msg
	s.mu.Unlock()
}

// TakeFlash returns and clears the session's one-time message.
func (s *Sessions) TakeFlash(sess *Session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := sess.flash
	sess.flash = ""
	return m
}

// RemoteIP is the client address of a request (the TCP peer; no
// X-Forwarded-For, which anyone can send).
func RemoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the request's logger (with its request id), or def.
func Logger(r *http.Request, def *slog.Logger) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return def
}
