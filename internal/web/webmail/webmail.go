// Package webmail is mailhouse's webmail: read and send mail in any
// browser, served by the mailhouse binary over HTTPS with every asset
// embedded.
//
// Pages are rendered on the server with html/template and work without
// JavaScript; a small script (static/app.js) adds keyboard shortcuts, live
// updates (Server-Sent Events fed by store.Feed), address completion and
// frame sizing. Folders and flags are the IMAP ones, read and changed
// through store.Store; sending goes through internal/delivery with the
// same checks as SMTP submission (the From address must be the user's,
// directory.Resolver.Owns; recipients are resolved as at RCPT time; the
// size and recipient limits of config.SMTP apply), and a copy is kept in
// Sent.
//
// Security: a session cookie of its own (web.Sessions, __Host-, Secure,
// HttpOnly, SameSite=Strict), a CSRF token on every form (web.CheckCSRF),
// login throttled by internal/auth, and a strict Content-Security-Policy
// (scripts only from our own files). HTML mail is cleaned by bluemonday
// and shown in a sandboxed frame served from its own path with a CSP that
// allows no script and no remote content, remote images only after the
// user asks; cid: images are rewritten to same-origin part URLs.
//
// What it deliberately does not do: user-editable routing, aliases or
// filters (the admin's), HTML composing, folder management (any IMAP
// client does it), and full-text indexing: search scans a bounded number
// of recent messages.
package webmail

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/web"
)

// Options configure the webmail.
type Options struct {
	Store     store.Store
	Auth      *auth.Authenticator
	Deliverer *delivery.Deliverer
	Resolver  *directory.Resolver
	// Hostname names the server in Received headers and Message-IDs.
	Hostname string
	// SMTP holds the limits sending obeys, as submission does
	// (MaxMessageBytes, MaxRecipients); zero values take config's defaults.
	SMTP config.SMTP
	// Prefix is the path the webmail is served under, without a trailing
	// slash; default "/mail". Mount the handler at Prefix+"/" and Prefix.
	Prefix string
	// Sessions holds webmail logins; nil makes a store with cookie
	// __Host-mh_webmail, Idle and 12 h at most.
	Sessions *web.Sessions
	// Idle ends a session with no request but the live-update stream for
	// this long; default 30 min (give Sessions the same Idle).
	Idle time.Duration
	// Location is the time zone dates are shown in; nil means time.Local.
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time
}

// Limits. Each is crossed by a test.
const (
	// pageSize is the number of messages on one page of a list.
	pageSize = 50
	// maxFormBytes bounds a form post without uploads.
	maxFormBytes = 256 << 10
	// maxUploadMemory is how much of an upload is kept in memory; the
	// rest goes to temporary files, removed after the request.
	maxUploadMemory = 4 << 20
	// uploadTimeout bounds the time to receive a compose post.
	uploadTimeout = 10 * time.Minute
	// maxUploadFiles bounds the files of one compose post.
	maxUploadFiles = 50
	// maxSelected bounds the messages one action may change.
	maxSelected = 1000
	// maxShownText is the text of a message shown on its page; the rest
	// is in the downloadable original.
	maxShownText = 1 << 20
	// maxHTMLInput is the largest HTML part that is cleaned and shown.
	maxHTMLInput = 4 << 20
	// maxBlocks bounds the parts rendered on a message page (the others
	// are listed as attachments).
	maxBlocks = 30
	// maxNested bounds the enclosed messages rendered inside each other.
	maxNested = 3
	// snippetMaxSize: messages larger than this get no preview line in
	// lists (it would mean reading the whole body).
	snippetMaxSize = 256 << 10
	// searchScanLimit and searchTime bound one search.
	searchScanLimit = 20000
	searchTime      = 10 * time.Second
	// maxQuoted bounds the text quoted in a reply or forward.
	maxQuoted = 256 << 10
	// minPasswordLength is the shortest new password (as for the admin).
	minPasswordLength = 8
)

// Webmail serves the webmail pages. It is an http.Handler.
type Webmail struct {
	o        Options
	p        string // Prefix
	sessions *web.Sessions
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	policy   *bluemonday.Policy
	assets   map[string]asset
	contacts *contactCache
	rows     *rowCache
	activity *activity
	streams  *streamLimits
	done     chan struct{}
	closeMu  sync.Once
}

//go:embed templates/*.html static/*
var files embed.FS

// New returns the webmail handler.
func New(o Options) *Webmail {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Prefix == "" {
		o.Prefix = "/mail"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.SMTP.MaxMessageBytes <= 0 {
		o.SMTP.MaxMessageBytes = 25 << 20
	}
	if o.SMTP.MaxRecipients <= 0 {
		o.SMTP.MaxRecipients = 100
	}
	if o.Idle <= 0 {
		o.Idle = 30 * time.Minute
	}
	if o.Sessions == nil {
		o.Sessions = web.NewSessions(web.SessionOptions{Cookie: "mh_webmail", Idle: o.Idle, Now: o.Now})
	}
	wm := &Webmail{
		o:        o,
		p:        o.Prefix,
		sessions: o.Sessions,
		log:      o.Logger.With("part", "webmail"),
		mux:      http.NewServeMux(),
		policy:   newPolicy(),
		contacts: newContactCache(),
		rows:     newRowCache(),
		activity: newActivity(o.Idle),
		streams:  newStreamLimits(),
		done:     make(chan struct{}),
	}
	wm.assets = loadAssets()
	wm.pages = wm.parseTemplates()
	wm.routes()
	return wm
}

// Sessions returns the webmail's session store (the app may end an
// account's sessions when an admin changes its password).
func (wm *Webmail) Sessions() *web.Sessions { return wm.sessions }

// Close ends the live-update streams, which would otherwise keep the
// HTTP server's graceful shutdown waiting. Call it before shutting the
// web server down.
func (wm *Webmail) Close() {
	wm.closeMu.Do(func() { close(wm.done) })
}

func (wm *Webmail) routes() {
	p, m := wm.p, wm.mux
	m.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+p+"/{$}", wm.user(wm.home))
	m.HandleFunc("GET "+p+"/login", wm.loginForm)
	m.HandleFunc("POST "+p+"/login", wm.login)
	m.HandleFunc("POST "+p+"/logout", wm.user(wm.logout))
	m.HandleFunc("GET "+p+"/static/{file}", wm.static)
	m.HandleFunc("GET "+p+"/folders", wm.user(wm.folderPage))
	m.HandleFunc("GET "+p+"/f/{mb}", wm.user(wm.list))
	m.HandleFunc("POST "+p+"/f/{mb}", wm.user(wm.bulkAction))
	m.HandleFunc("GET "+p+"/f/{mb}/{uid}", wm.user(wm.read))
	m.HandleFunc("GET "+p+"/f/{mb}/{uid}/html/{section}", wm.user(wm.htmlFrame))
	m.HandleFunc("GET "+p+"/f/{mb}/{uid}/part/{section}", wm.user(wm.part))
	m.HandleFunc("GET "+p+"/f/{mb}/{uid}/raw", wm.user(wm.raw))
	m.HandleFunc("GET "+p+"/compose", wm.user(wm.composeForm))
	m.HandleFunc("POST "+p+"/compose", wm.user(wm.composePost))
	m.HandleFunc("GET "+p+"/contacts", wm.user(wm.contactsJSON))
	m.HandleFunc("GET "+p+"/settings", wm.user(wm.settings))
	m.HandleFunc("POST "+p+"/settings/password", wm.user(wm.changePassword))
	m.HandleFunc("GET "+p+"/events", wm.user(wm.events))
	m.HandleFunc(p+"/", wm.user(func(w http.ResponseWriter, r *http.Request, q *request) {
		wm.notFound(w, r, q)
	}))
}

// ServeHTTP implements http.Handler.
func (wm *Webmail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	wm.mux.ServeHTTP(w, r)
}

// pageCSP replaces web.CSP on webmail pages: scripts only from our own
// files, frames only our own (the sandboxed message body), fetches only
// to us (live updates, address completion).
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// home sends the user to their INBOX.
func (wm *Webmail) home(w http.ResponseWriter, r *http.Request, q *request) {
	mb, err := wm.o.Store.GetMailbox(r.Context(), q.acct.ID, "INBOX")
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	http.Redirect(w, r, wm.folderURL(mb.ID, listQuery{}), http.StatusSeeOther)
}

// closing is closed when the webmail closes (Close).
func (wm *Webmail) closing() <-chan struct{} { return wm.done }

// detach returns a context for work that must finish even if the client
// goes away (sending, saving), bounded by d.
func detach(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}
