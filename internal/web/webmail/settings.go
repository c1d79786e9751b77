package webmail

import (
	"errors"
	"net/http"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/web"
)

// settingsData is the settings page: the quota and the password form.
// Routing and aliases are the admin's, not the user's.
type settingsData struct {
	Address    string
	Used       int64
	Messages   int
	Quota      int64 // 0: no limit
	Folders    []folder
	FolderSize map[string]int64
	Error      string
	MinLength  int
}

func (wm *Webmail) settings(w http.ResponseWriter, r *http.Request, q *request) {
	wm.renderSettings(w, r, q, http.StatusOK, "")
}

func (wm *Webmail) renderSettings(w http.ResponseWriter, r *http.Request, q *request, status int, errMsg string) {
	ctx := r.Context()
	// The effective limits, as delivery enforces them (the server's
	// default quota for accounts without their own).
	quota, err := wm.o.Deliverer.Quota(ctx, q.acct.ID)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	u := quota.Usage
	fs, err := wm.folders(ctx, q.acct.ID, 0)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	d := &settingsData{Address: q.acct.Address, Used: u.Bytes, Messages: u.Messages, Quota: quota.LimitBytes,
		Folders: fs, FolderSize: map[string]int64{}, Error: errMsg, MinLength: minPasswordLength}
	for _, f := range fs {
		if st, err := wm.o.Store.MailboxStatus(ctx, f.ID); err == nil {
			d.FolderSize[f.Name] = st.Size
		}
	}
	wm.render(w, r, status, "settings", &page{Title: "Settings", View: "settings", Folders: fs, Data: d, q: q})
}

// changePassword checks the current password (through auth, so that
// failures count against the login throttle), sets the new one, and
// ends every other session of the account.
func (wm *Webmail) changePassword(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	cur, nw, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("again")
	_, err := wm.o.Auth.Login(ctx, q.acct.Address, cur, web.RemoteIP(r))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		wm.renderSettings(w, r, q, http.StatusTooManyRequests, "Too many wrong passwords: try again later.")
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		wm.renderSettings(w, r, q, http.StatusUnprocessableEntity, "The current password is wrong.")
		return
	case err != nil:
		wm.fail(w, r, q, err)
		return
	}
	switch {
	case len([]rune(nw)) < minPasswordLength:
		wm.renderSettings(w, r, q, http.StatusUnprocessableEntity, "The new password is too short.")
		return
	case len(nw) > 1024:
		wm.renderSettings(w, r, q, http.StatusUnprocessableEntity, "The new password is too long.")
		return
	case nw != again:
		wm.renderSettings(w, r, q, http.StatusUnprocessableEntity, "The two new passwords differ.")
		return
	case nw == cur:
		wm.renderSettings(w, r, q, http.StatusUnprocessableEntity, "The new password is the current one.")
		return
	}
	hash, err := wm.o.Auth.HashPassword(nw)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	if err := wm.o.Store.SetPassword(ctx, q.acct.Address, hash); err != nil {
		wm.fail(w, r, q, err)
		return
	}
	if adm, ok := wm.o.Store.(store.Admin); ok {
		if err := adm.AddAudit(ctx, store.AuditEntry{Actor: "webmail:" + q.acct.Address, Action: "account.password", Target: q.acct.Address}); err != nil {
			q.log.Error("webmail: audit", "err", err)
		}
	}
	q.log.Info("webmail: password changed")
	// Other browsers logged in with the old password are logged out; this
	// one gets a new session.
	wm.sessions.DestroyAccount(q.acct.ID)
	sess := wm.sessions.Create(w, q.acct)
	wm.activity.touch(sess, wm.o.Now())
	wm.sessions.SetFlash(sess, "ok:Your password is changed. Other devices must log in again; mail programs need the new password too.")
	http.Redirect(w, r, wm.p+"/settings", http.StatusSeeOther)
}
