// Package admin is mailhouse's admin console (HTML pages under /admin)
// and its JSON API (under /api/admin/v1/, bearer tokens), for domains,
// accounts, aliases and forwarding, the outbound queue, the DNS records
// to publish and the audit log. Every change goes through package ops,
// the same code as the CLI, and is audited.
//
// Security is the webmail's: its own session cookie (a webmail login
// never opens the console), CSRF tokens on every form, a strict CSP with
// no script at all, login throttling by internal/auth, and admin rights
// checked on every request, so a revoked or disabled admin is out at
// once. Anyone else gets 403 and no data.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/web"
	"mailhouse/internal/web/admin/ops"
	"mailhouse/internal/web/autoconfig"
)

// Options configure the console and API.
type Options struct {
	// Store must also implement store.Admin (sqlstore does).
	Store store.Store
	Auth  *auth.Authenticator
	// Settings are the client settings, for the DNS records page (the
	// same value the web server's documents use).
	Settings autoconfig.Settings
	// DNSSources add records beyond the client-facing ones (DKIM, DMARC,
	// MTA-STS), as for `mailhouse domain dns` (cli.DNSSources).
	DNSSources []autoconfig.RecordSource
	// Queue shows the outbound queue; nil says there is none yet.
	Queue Queue
	// Retention shows an account's retention policy (retention.Job);
	// nil shows none.
	Retention Retention
	// Sessions holds console logins; nil makes a store with the defaults
	// (cookie __Host-mh_admin, 30 min idle, 12 h at most).
	Sessions *web.Sessions
	Logger   *slog.Logger
}

// Queue is the outbound queue as the console shows it.
type Queue interface {
	List(ctx context.Context, limit int) ([]QueuedMessage, error)
}

// QueuedMessage is one message waiting to go out.
type QueuedMessage struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	To          []string  `json:"to"` // recipients still pending
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
}

// Console is the admin console and API handler.
type Console struct {
	o        Options
	ops      *ops.Ops
	sessions *web.Sessions
	mux      *http.ServeMux
	log      *slog.Logger
	apiFail  apiFailures
}

// maxFormBytes bounds a console form or API request body.
const maxFormBytes = 64 << 10

// New returns the console. It needs a store that implements store.Admin.
func New(o Options) (*Console, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	adm, ok := o.Store.(store.Admin)
	if !ok {
		return nil, errors.New("admin: the store keeps no admin flags or audit log (store.Admin)")
	}
	if o.Sessions == nil {
		o.Sessions = web.NewSessions(web.SessionOptions{Cookie: "mh_admin"})
	}
	c := &Console{o: o, sessions: o.Sessions, log: o.Logger, mux: http.NewServeMux()}
	c.ops = &ops.Ops{
		Store: o.Store, Admin: adm, Hash: o.Auth.HashPassword, Logger: o.Logger.With("part", "admin"),
		AccountChanged: c.accountChanged,
	}
	c.routes()
	c.apiRoutes()
	return c, nil
}

// accountChanged ends the console sessions of a changed account and,
// when it was disabled or deleted, its mail sessions everywhere (IMAP,
// POP3, submission, webmail streams) through auth's session registry.
func (c *Console) accountChanged(id store.AccountID) {
	c.sessions.DestroyAccount(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acct, err := c.o.Store.GetAccountByID(ctx, id)
	if err == nil {
		var f store.AccountFlags
		if f, err = c.ops.Admin.AccountFlags(ctx, acct.Address); err == nil && !f.Disabled {
			return
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("admin: account check after a change", "account", id, "err", err)
		return
	}
	c.o.Auth.EndAccount(id)
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// Sessions returns the console's session store.
func (c *Console) Sessions() *web.Sessions { return c.sessions }

// request is what a console handler gets after the checks.
type request struct {
	sess *web.Session
	ops  *ops.Ops
	log  *slog.Logger
}

// admin wraps a console handler: a live admin session, admin rights
// still held, the form parsed and its CSRF token checked.
func (c *Console) admin(h func(http.ResponseWriter, *http.Request, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		log := web.Logger(r, c.log)
		sess, ok := c.sessions.Get(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
				return
			}
			c.forbidden(w, "Your session has ended: log in again.")
			return
		}
		flags, err := c.ops.Admin.AccountFlags(r.Context(), sess.Address)
		if err != nil || !flags.Admin || flags.Disabled {
			log.Warn("admin: session of a non-admin ended", "user", sess.Address, "err", err)
			c.sessions.Destroy(w, r)
			c.forbidden(w, "This account is not an administrator.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if !web.CheckCSRF(r, sess) {
			log.Warn("admin: CSRF check failed", "user", sess.Address, "path", r.URL.Path)
			c.forbidden(w, "The form has expired or did not come from this console: reload the page and try again.")
			return
		}
		h(w, r, &request{sess: sess, ops: c.ops.As("admin:"+sess.Address, sess.Address), log: log.With("admin", sess.Address)})
	}
}

// done ends a successful or failed form post: the message is shown once
// on the page redirected to.
func (c *Console) done(w http.ResponseWriter, r *http.Request, q *request, to string, err error, okMsg string) {
	if err != nil {
		e := ops.AsError(err)
		if e.Code == ops.CodeInternal {
			q.log.Error("admin: operation failed", "path", r.URL.Path, "err", e.Err)
		}
		c.sessions.SetFlash(q.sess, "!"+sentence(e.Message))
	} else {
		c.sessions.SetFlash(q.sess, okMsg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) forbidden(w http.ResponseWriter, msg string) {
	c.render(w, http.StatusForbidden, "forbidden", msg)
}

// pathArg is a path value as typed in a link (already unescaped).
func pathArg(r *http.Request, name string) string { return strings.TrimSpace(r.PathValue(name)) }

// sentence capitalises a message's first letter for display.
func sentence(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
