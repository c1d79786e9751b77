package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/web/admin/ops"
	"mailhouse/internal/web/autoconfig"
)

func (c *Console) routes() {
	m := c.mux
	m.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /admin/login", c.loginForm)
	m.HandleFunc("POST /admin/login", c.login)
	m.HandleFunc("POST /admin/logout", c.admin(c.logout))
	m.HandleFunc("GET /admin/{$}", c.admin(c.dashboard))
	m.HandleFunc("POST /admin/domains", c.admin(c.addDomain))
	m.HandleFunc("GET /admin/domains/{domain}", c.admin(c.domainPage))
	m.HandleFunc("GET /admin/domains/{domain}/delete", c.admin(c.confirmDeleteDomain))
	m.HandleFunc("POST /admin/domains/{domain}/delete", c.admin(c.deleteDomain))
	m.HandleFunc("POST /admin/domains/{domain}/accounts", c.admin(c.addAccount))
	m.HandleFunc("POST /admin/domains/{domain}/aliases", c.admin(c.addAlias))
	m.HandleFunc("GET /admin/accounts/{address}", c.admin(c.accountPage))
	m.HandleFunc("GET /admin/accounts/{address}/delete", c.admin(c.confirmDeleteAccount))
	m.HandleFunc("POST /admin/accounts/{address}/{action}", c.admin(c.accountAction))
	m.HandleFunc("GET /admin/aliases/{address}/delete", c.admin(c.confirmDeleteAlias))
	m.HandleFunc("POST /admin/aliases/{address}/delete", c.admin(c.deleteAlias))
	m.HandleFunc("POST /admin/domains/{domain}/quota", c.admin(c.setDomainQuota))
	m.HandleFunc("GET /admin/limits", c.admin(c.limitsPage))
	m.HandleFunc("POST /admin/limits/blocks/clear", c.admin(c.clearBlock))
	m.HandleFunc("GET /admin/queue", c.admin(c.queuePage))
	m.HandleFunc("GET /admin/audit", c.admin(c.auditPage))
	m.HandleFunc("GET /admin/tokens", c.admin(c.tokensPage))
	m.HandleFunc("POST /admin/tokens", c.admin(c.addToken))
	m.HandleFunc("POST /admin/tokens/{id}/delete", c.admin(c.deleteToken))
	// Anything else under /admin/: 404 for admins, the login for others.
	m.HandleFunc("/admin/", c.admin(func(w http.ResponseWriter, r *http.Request, _ *request) {
		http.NotFound(w, r)
	}))
}

// displayTarget shows an address or "@domain" with a Unicode domain.
func displayTarget(a string) string {
	if d, ok := strings.CutPrefix(a, "@"); ok {
		return "@" + directory.DisplayDomain(d)
	}
	return directory.DisplayAddress(a)
}

func domainURL(d string) string  { return "/admin/domains/" + url.PathEscape(d) }
func accountURL(a string) string { return "/admin/accounts/" + url.PathEscape(a) }
func (c *Console) errPage(w http.ResponseWriter, r *http.Request, q *request, err error) {
	e := ops.AsError(err)
	status := http.StatusBadRequest
	switch e.Code {
	case ops.CodeNotFound, ops.CodeUnknownDomain:
		status = http.StatusNotFound
	case ops.CodeInternal:
		status = http.StatusInternalServerError
		q.log.Error("admin: page failed", "path", r.URL.Path, "err", e.Err)
	}
	http.Error(w, e.Message, status)
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, q *request) {
	ds, err := q.ops.ListDomains(r.Context())
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	audit, err := q.ops.Audit(r.Context(), 0, 10)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	c.page(w, q, "dashboard", "Domains", struct {
		Domains []ops.DomainInfo
		Audit   []store.AuditEntry
	}{ds, audit})
}

func (c *Console) addDomain(w http.ResponseWriter, r *http.Request, q *request) {
	d, err := q.ops.AddDomain(r.Context(), r.PostFormValue("domain"))
	if err != nil {
		c.done(w, r, q, "/admin/", err, "")
		return
	}
	c.done(w, r, q, domainURL(d.Name), nil, "Domain "+d.Display+" added. Publish the DNS records below.")
}

func (c *Console) domainPage(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	d, err := q.ops.GetDomain(ctx, pathArg(r, "domain"))
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	accts, err := q.ops.ListAccounts(ctx, d.Name)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	als, err := q.ops.ListAliases(ctx, d.Name)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	recs, err := autoconfig.Zone(ctx, c.o.Settings, d.Name, c.o.DNSSources...)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	dq, err := q.ops.DomainQuota(ctx, d.Name)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	c.page(w, q, "domain", d.Display, struct {
		Domain   ops.DomainInfo
		Quota    ops.DomainQuotaInfo
		Accounts []ops.AccountInfo
		Aliases  []store.Alias
		Zone     string
	}{d, dq, accts, als, autoconfig.ZoneText(d.Display, recs)})
}

type confirmPage struct {
	Title, Text, Action, Button, Back string
}

func (c *Console) confirmDeleteDomain(w http.ResponseWriter, r *http.Request, q *request) {
	d, err := q.ops.GetDomain(r.Context(), pathArg(r, "domain"))
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	text := fmt.Sprintf("Delete the domain %s? Mail to it will be refused.", d.Display)
	if d.Accounts+d.Aliases > 0 {
		text = fmt.Sprintf("The domain %s still has %d account(s) and %d alias(es); delete them first.", d.Display, d.Accounts, d.Aliases)
	}
	c.page(w, q, "confirm", "Delete domain", confirmPage{"Delete domain " + d.Display, text, domainURL(d.Name) + "/delete", "Delete domain " + d.Display, domainURL(d.Name)})
}

func (c *Console) deleteDomain(w http.ResponseWriter, r *http.Request, q *request) {
	d := pathArg(r, "domain")
	if err := q.ops.DeleteDomain(r.Context(), d); err != nil {
		c.done(w, r, q, domainURL(d), err, "")
		return
	}
	c.done(w, r, q, "/admin/", nil, "Domain "+directory.DisplayDomain(d)+" deleted.")
}

func (c *Console) addAccount(w http.ResponseWriter, r *http.Request, q *request) {
	d := pathArg(r, "domain")
	quota, err := ops.ParseSize(r.PostFormValue("quota"))
	if err != nil {
		c.done(w, r, q, domainURL(d), err, "")
		return
	}
	local := strings.TrimSpace(r.PostFormValue("local"))
	if local == "" || strings.Contains(local, "@") {
		c.done(w, r, q, domainURL(d), &ops.Error{Code: ops.CodeBadAddress, Message: "enter the part of the address before the @"}, "")
		return
	}
	info, pw, err := q.ops.AddAccount(r.Context(), ops.NewAccount{
		Address: local + "@" + d, Password: r.PostFormValue("password"), QuotaBytes: quota, Admin: r.PostFormValue("admin") == "on",
	})
	if err != nil {
		c.done(w, r, q, domainURL(d), err, "")
		return
	}
	msg := "Account " + info.Display + " created."
	if pw != "" {
		msg += " Its password (shown only now): " + pw
	}
	c.done(w, r, q, domainURL(d), nil, msg)
}

// splitTargets splits a list typed one per line or comma-separated.
func splitTargets(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })
}

func (c *Console) addAlias(w http.ResponseWriter, r *http.Request, q *request) {
	d := pathArg(r, "domain")
	local := strings.TrimSpace(r.PostFormValue("local"))
	addr := local + "@" + d
	switch {
	case local == "*":
		addr = "@" + d
	case local == "" || strings.Contains(local, "@"):
		c.done(w, r, q, domainURL(d), &ops.Error{Code: ops.CodeBadAddress, Message: "enter the part of the address before the @, or * for a catch-all"}, "")
		return
	}
	a, err := q.ops.AddAlias(r.Context(), addr, splitTargets(r.PostFormValue("targets")))
	if err != nil {
		c.done(w, r, q, domainURL(d), err, "")
		return
	}
	c.done(w, r, q, domainURL(d), nil, "Alias "+displayTarget(a.Address)+" added.")
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, q *request) {
	info, err := q.ops.GetAccount(r.Context(), pathArg(r, "address"))
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	ret, err := c.accountRetention(r.Context(), info.ID)
	if err != nil {
		c.errPage(w, r, q, ops.AsError(err))
		return
	}
	c.page(w, q, "account", info.Display, struct {
		ops.AccountInfo
		Retention     []retentionRow
		ShowRetention bool
	}{info, ret, c.o.Retention != nil})
}

func (c *Console) confirmDeleteAccount(w http.ResponseWriter, r *http.Request, q *request) {
	info, err := q.ops.GetAccount(r.Context(), pathArg(r, "address"))
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	text := fmt.Sprintf("Delete %s with its %d message(s) (%s)? This cannot be undone.", info.Display, info.Messages, ops.FormatSize(info.UsedBytes))
	c.page(w, q, "confirm", "Delete account", confirmPage{"Delete account " + info.Display, text, accountURL(info.Address) + "/delete", "Delete " + info.Display + " and all its mail", accountURL(info.Address)})
}

// accountAction runs one of the account forms.
func (c *Console) accountAction(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	addr := pathArg(r, "address")
	back := accountURL(addr)
	var err error
	msg := ""
	switch r.PathValue("action") {
	case "password":
		var pw string
		if pw, err = q.ops.SetPassword(ctx, addr, r.PostFormValue("password")); err == nil {
			msg = "Password changed; the account's console sessions were ended."
			if pw != "" {
				msg = "New password (shown only now): " + pw
			}
		}
	case "quota":
		var quota int64
		if quota, err = ops.ParseSize(r.PostFormValue("quota")); err == nil {
			if err = q.ops.SetQuota(ctx, addr, quota); err == nil {
				msg = "Quota set."
			}
		}
	case "disable":
		err, msg = q.ops.SetDisabled(ctx, addr, true), "Account disabled: it cannot log in; its mail is kept."
	case "enable":
		err, msg = q.ops.SetDisabled(ctx, addr, false), "Account enabled."
	case "grant":
		err, msg = q.ops.SetAdmin(ctx, addr, true), "Admin rights granted."
	case "revoke":
		err, msg = q.ops.SetAdmin(ctx, addr, false), "Admin rights removed."
	case "delete":
		if err = q.ops.DeleteAccount(ctx, addr); err == nil {
			c.done(w, r, q, domainURL(addr[strings.LastIndexByte(addr, '@')+1:]), nil, "Account "+directory.DisplayAddress(addr)+" deleted.")
			return
		}
	default:
		http.NotFound(w, r)
		return
	}
	c.done(w, r, q, back, err, msg)
}

func (c *Console) confirmDeleteAlias(w http.ResponseWriter, r *http.Request, q *request) {
	a, err := q.ops.GetAlias(r.Context(), pathArg(r, "address"))
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	d := a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	c.page(w, q, "confirm", "Delete alias", confirmPage{
		"Delete alias " + displayTarget(a.Address),
		fmt.Sprintf("Delete the alias %s (delivering to %s)? Mail to it will be refused.", displayTarget(a.Address), strings.Join(a.Targets, ", ")),
		"/admin/aliases/" + url.PathEscape(a.Address) + "/delete", "Delete alias " + displayTarget(a.Address), domainURL(d),
	})
}

func (c *Console) deleteAlias(w http.ResponseWriter, r *http.Request, q *request) {
	addr := pathArg(r, "address")
	back := "/admin/"
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		back = domainURL(addr[i+1:])
	}
	err := q.ops.DeleteAlias(r.Context(), addr)
	c.done(w, r, q, back, err, "Alias "+displayTarget(addr)+" deleted.")
}

// maxQueueRows bounds the queue page.
const maxQueueRows = 500

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, q *request) {
	body := struct {
		Available bool
		Messages  []QueuedMessage
	}{}
	if c.o.Queue != nil {
		ms, err := c.o.Queue.List(r.Context(), maxQueueRows)
		if err != nil {
			c.errPage(w, r, q, err)
			return
		}
		body.Available, body.Messages = true, ms
	}
	c.page(w, q, "queue", "Queue", body)
}

// auditPageSize is the number of entries per audit page.
const auditPageSize = 100

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, q *request) {
	before, _ := strconv.ParseInt(r.FormValue("before"), 10, 64)
	es, err := q.ops.Audit(r.Context(), before, auditPageSize)
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	var next int64
	if len(es) == auditPageSize {
		next = es[len(es)-1].ID
	}
	c.page(w, q, "audit", "Audit log", struct {
		Entries []store.AuditEntry
		Next    int64
	}{es, next})
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, q *request) {
	ts, err := q.ops.ListTokens(r.Context())
	if err != nil {
		c.errPage(w, r, q, err)
		return
	}
	c.page(w, q, "tokens", "API tokens", ts)
}

func (c *Console) addToken(w http.ResponseWriter, r *http.Request, q *request) {
	_, text, err := q.ops.AddToken(r.Context(), r.PostFormValue("name"))
	c.done(w, r, q, "/admin/tokens", err, "Token created (shown only now): "+text)
}

func (c *Console) deleteToken(w http.ResponseWriter, r *http.Request, q *request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	c.done(w, r, q, "/admin/tokens", q.ops.DeleteToken(r.Context(), id), "Token revoked.")
}
