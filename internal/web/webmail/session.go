package webmail

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/web"
)

// refreshHeader marks the page fetches of the live updates (app.js).
const refreshHeader = "X-Mailhouse-Refresh"

// request is what a handler gets once the session checks passed.
type request struct {
	sess *web.Session
	acct store.Account
	log  *slog.Logger
}

// user wraps a handler: a live session of an account that still exists
// and is not disabled, the form parsed within its limits, and for unsafe
// methods the CSRF token checked (web.CheckCSRF: token and origin).
func (wm *Webmail) user(h func(http.ResponseWriter, *http.Request, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		log := web.Logger(r, wm.log)
		sess, ok := wm.sessions.Get(r)
		// The live-update stream and the page refreshes it causes are not
		// the user's doing: they do not count as activity.
		passive := r.URL.Path == wm.p+"/events" || r.Header.Get(refreshHeader) == "1"
		if ok && !passive && !wm.activity.touch(sess, wm.o.Now()) {
			// Idle for longer than the session allows while only the
			// live-update stream kept it alive.
			wm.sessions.Destroy(w, r)
			ok = false
		}
		if !ok {
			wm.loginRequired(w, r)
			return
		}
		acct, err := wm.o.Store.GetAccountByID(r.Context(), sess.Account)
		if err == nil && wm.disabled(r, acct.Address) {
			err = store.ErrNotFound
		}
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				log.Error("webmail: account lookup", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			log.Warn("webmail: session of a deleted or disabled account ended", "user", sess.Address)
			wm.sessions.DestroyAccount(sess.Account)
			wm.sessions.Destroy(w, r)
			wm.loginRequired(w, r)
			return
		}
		q := &request{sess: sess, acct: acct, log: log.With("user", acct.Address)}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := wm.parseForm(w, r); err != nil {
				q.log.Info("webmail: form refused", "path", r.URL.Path, "err", err)
				wm.errorPage(w, r, q, http.StatusRequestEntityTooLarge, "The form is too large.")
				return
			}
			defer func() {
				if r.MultipartForm != nil {
					_ = r.MultipartForm.RemoveAll()
				}
			}()
			if !web.CheckCSRF(r, sess) {
				q.log.Warn("webmail: CSRF check failed", "path", r.URL.Path)
				wm.errorPage(w, r, q, http.StatusForbidden, "The form has expired or did not come from this webmail: reload the page and try again.")
				return
			}
		}
		h(w, r, q)
	}
}

// parseForm reads a post within its limits: small forms, or a compose
// form with uploads up to the message size limit.
func (wm *Webmail) parseForm(w http.ResponseWriter, r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		// Uploads may take longer than the server's read time-out for
		// pages allows.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTimeout))
		r.Body = http.MaxBytesReader(w, r.Body, wm.o.SMTP.MaxMessageBytes+maxFormBytes)
		if err := r.ParseMultipartForm(maxUploadMemory); err != nil {
			return err
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File["attach"]) > maxUploadFiles {
			_ = r.MultipartForm.RemoveAll()
			return errors.New("too many files")
		}
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm()
}

// disabled reports whether an admin disabled the account (stores that
// keep admin flags implement store.Admin).
func (wm *Webmail) disabled(r *http.Request, address string) bool {
	adm, ok := wm.o.Store.(store.Admin)
	if !ok {
		return false
	}
	f, err := adm.AccountFlags(r.Context(), address)
	return err == nil && f.Disabled
}

// loginRequired sends a page request to the login form (coming back
// afterwards) and refuses anything else.
func (wm *Webmail) loginRequired(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" && !strings.HasPrefix(r.URL.Path, wm.p+"/contacts") {
		http.Redirect(w, r, wm.p+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	wm.render(w, r, http.StatusUnauthorized, "login", &page{Title: "Log in", Data: loginData{
		Error: "Your session has ended: log in again.",
	}})
}

type loginData struct {
	User, Error, Next, Notice string
}

func (wm *Webmail) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := wm.sessions.Get(r); ok {
		http.Redirect(w, r, wm.p+"/", http.StatusSeeOther)
		return
	}
	d := loginData{Next: wm.safeNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Get("out") == "1" {
		d.Notice = "You have logged out."
	}
	wm.render(w, r, http.StatusOK, "login", &page{Title: "Log in", Data: d})
}

// login checks the password with internal/auth, which throttles failures
// per client address and per account exactly as for IMAP and SMTP.
// There is no session yet, so the login form's CSRF defence is the
// origin check (a forged login would only log the victim in as the
// attacker, which SameOrigin stops).
func (wm *Webmail) login(w http.ResponseWriter, r *http.Request) {
	log := web.Logger(r, wm.log)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	d := loginData{User: strings.TrimSpace(r.PostFormValue("username")), Next: wm.safeNext(r.PostFormValue("next"))}
	if !web.SameOrigin(r) {
		d.Error = "The login form did not come from this webmail."
		wm.render(w, r, http.StatusForbidden, "login", &page{Title: "Log in", Data: d})
		return
	}
	acct, err := wm.o.Auth.Login(r.Context(), d.User, r.PostFormValue("password"), web.RemoteIP(r))
	if err == nil && wm.disabled(r, acct.Address) {
		log.Warn("webmail: login refused: account disabled", "user", acct.Address)
		err = auth.ErrInvalidCredentials
	}
	switch {
	case errors.Is(err, auth.ErrThrottled):
		d.Error = "Too many failed logins: try again later."
		wm.render(w, r, http.StatusTooManyRequests, "login", &page{Title: "Log in", Data: d})
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		d.Error = "Wrong email address or password."
		wm.render(w, r, http.StatusUnauthorized, "login", &page{Title: "Log in", Data: d})
		return
	case err != nil:
		log.Error("webmail: login", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sess := wm.sessions.Create(w, acct)
	wm.activity.touch(sess, wm.o.Now())
	log.Info("webmail: logged in", "user", acct.Address)
	next := d.Next
	if next == "" {
		next = wm.p + "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a post-login destination only if it is a path of ours.
func (wm *Webmail) safeNext(next string) string {
	if !strings.HasPrefix(next, wm.p+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, wm.p+"/events") || strings.HasPrefix(next, wm.p+"/contacts") {
		return ""
	}
	return next
}

func (wm *Webmail) logout(w http.ResponseWriter, r *http.Request, q *request) {
	wm.sessions.Destroy(w, r)
	wm.activity.forget(q.sess)
	q.log.Info("webmail: logged out")
	http.Redirect(w, r, wm.p+"/login?out=1", http.StatusSeeOther)
}

// activity records when each session last made a request other than the
// live-update stream, so that an open tab alone does not keep a session
// alive past its idle time (web.Sessions counts every request).
type activity struct {
	mu   sync.Mutex
	last map[*web.Session]time.Time
	idle time.Duration
}

func newActivity(idle time.Duration) *activity {
	return &activity{last: map[*web.Session]time.Time{}, idle: idle}
}

// touch records a request and reports whether the session was still
// active (a session not seen before counts as active).
func (a *activity) touch(s *web.Session, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.last) > 20_000 {
		for k, t := range a.last {
			if now.Sub(t) > a.idle {
				delete(a.last, k)
			}
		}
	}
	t, seen := a.last[s]
	if seen && now.Sub(t) > a.idle {
		delete(a.last, s)
		return false
	}
	a.last[s] = now
	return true
}

// idleFor reports how long a session made no request but the stream.
func (a *activity) idleFor(s *web.Session, now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.last[s]
	if !ok {
		return 0
	}
	return now.Sub(t)
}

func (a *activity) forget(s *web.Session) {
	a.mu.Lock()
	delete(a.last, s)
	a.mu.Unlock()
}
