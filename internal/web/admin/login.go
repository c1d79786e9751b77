package admin

import (
	"errors"
	"net/http"

	"mailhouse/internal/auth"
	"mailhouse/internal/web"
)

type loginPage struct {
	User, Error string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessions.Get(r); ok {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login", loginPage{})
}

// login checks the password (auth throttles failures per address and
// per account) and then the admin flag. A correct password of a
// non-admin gets 403 without a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	log := web.Logger(r, c.log)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !web.SameOrigin(r) {
		c.forbidden(w, "The login form did not come from this console.")
		return
	}
	user := r.PostFormValue("username")
	acct, err := c.o.Auth.Login(r.Context(), user, r.PostFormValue("password"), web.RemoteIP(r))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		c.render(w, http.StatusTooManyRequests, "login", loginPage{User: user, Error: "Too many failed logins: try again later."})
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		c.render(w, http.StatusUnauthorized, "login", loginPage{User: user, Error: "Wrong user name or password."})
		return
	case err != nil:
		log.Error("admin: login", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	flags, err := c.ops.Admin.AccountFlags(r.Context(), acct.Address)
	if err != nil || !flags.Admin || flags.Disabled {
		log.Warn("admin: login refused: not an admin", "user", acct.Address, "disabled", flags.Disabled)
		c.forbidden(w, "This account is not an administrator.")
		return
	}
	c.sessions.Create(w, acct)
	log.Info("admin: logged in", "user", acct.Address)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, q *request) {
	c.sessions.Destroy(w, r)
	q.log.Info("admin: logged out")
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
