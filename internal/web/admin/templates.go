package admin

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailhouse/internal/web/admin/ops"
)

// The console's pages: one layout, one "content" template per page, no
// script (the CSP allows none), confirmation pages instead of dialogs.

const layout = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · mailhouse admin</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#222;line-height:1.4}
header{background:#243447;color:#fff;padding:.6rem 1rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:.9rem}
header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;border-radius:3px;cursor:pointer}
main{max-width:60rem;margin:1rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f3f3f3}table.audit td:first-child{white-space:nowrap}.flash{padding:.6rem .8rem;border-radius:4px;background:#e8f6e8;border:1px solid #9c9}
.flash.err{background:#fdeaea;border-color:#d99}fieldset{border:1px solid #ccc;border-radius:4px;margin:1rem 0}
label{display:inline-block;margin:.2rem .8rem .2rem 0}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.85rem}
.danger{color:#a00}button.danger{background:#a00;color:#fff;border:0;padding:.4rem .8rem;border-radius:3px}
.tag{font-size:.75rem;padding:0 .3rem;border-radius:3px;background:#ddd}.tag.admin{background:#cde}.tag.disabled{background:#fcc}
</style></head><body>
{{if .User}}<header><strong><a href="/admin/">mailhouse admin</a></strong>
<a href="/admin/">Domains</a><a href="/admin/limits">Blocks and retention</a><a href="/admin/queue">Queue</a><a href="/admin/audit">Audit log</a><a href="/admin/tokens">API tokens</a>
<span class="who">{{.User}} <form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit" id="logout">Log out</button></form></span></header>{{end}}
<main>
{{if .Flash}}<p class="flash{{if .FlashErr}} err{{end}}" id="flash" role="status">{{.Flash}}</p>{{end}}
{{template "content" .}}
</main></body></html>`

var pageTemplates = map[string]string{
	"login": `<h1>Administrator login</h1>
{{with .Body}}{{if .Error}}<p class="flash err" id="flash">{{.Error}}</p>{{end}}
<form method="post" action="/admin/login">
<p><label>Email address<br><input name="username" type="email" autocomplete="username" required value="{{.User}}"></label></p>
<p><label>Password<br><input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit" id="login">Log in</button></p></form>{{end}}`,

	"forbidden": `<h1>Forbidden</h1><p id="forbidden">{{.Body}}</p><p><a href="/admin/login">Log in as an administrator</a></p>`,

	"dashboard": `<h1>Domains</h1>
<table id="domains"><thead><tr><th>Domain</th><th>Accounts</th><th>Aliases</th><th>Added</th></tr></thead><tbody>
{{range .Body.Domains}}<tr><td><a href="{{domurl .Name}}">{{.Display}}</a></td><td>{{.Accounts}}</td><td>{{.Aliases}}</td><td>{{date .Created}}</td></tr>
{{else}}<tr><td colspan="4">No domains yet.</td></tr>{{end}}</tbody></table>
<form method="post" action="/admin/domains" id="add-domain"><fieldset><legend>Add a domain</legend>
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Domain <input name="domain" required placeholder="example.com"></label>
<button type="submit">Add domain</button></fieldset></form>
<h2>Recent changes</h2>{{template "audit" .Body.Audit}}<p><a href="/admin/audit">Whole audit log</a></p>`,

	"domain": `{{with .Body}}<h1>{{.Domain.Display}}</h1>
<p>{{.Domain.Accounts}} account(s), {{.Domain.Aliases}} alias(es). <a href="/settings/{{pathesc .Domain.Name}}">Email settings page for users</a></p>
<p id="domain-quota">Total quota: {{if .Quota.LimitBytes}}{{size .Quota.LimitBytes}}{{else}}unlimited{{end}}; used {{size .Quota.UsedBytes}} in {{.Quota.Messages}} message(s).</p>
<form method="post" action="{{domurl .Domain.Name}}/quota" id="set-domain-quota"><fieldset><legend>Total quota of all accounts of the domain</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>Quota <input name="quota" size="8" value="{{if .Quota.LimitBytes}}{{.Quota.LimitBytes}}{{end}}" placeholder="empty: unlimited"></label>
<button type="submit">Set domain quota</button></fieldset></form>
<h2>Accounts</h2>
<table id="accounts"><thead><tr><th>Address</th><th>Quota</th><th>Used</th><th>Messages</th><th></th></tr></thead><tbody>
{{range .Accounts}}<tr><td><a href="{{accturl .Address}}">{{.Display}}</a></td><td>{{quota .QuotaBytes}}</td><td>{{size .UsedBytes}}</td><td>{{.Messages}}</td>
<td>{{if .Admin}}<span class="tag admin">admin</span>{{end}} {{if .Disabled}}<span class="tag disabled">disabled</span>{{end}}</td></tr>
{{else}}<tr><td colspan="5">No accounts.</td></tr>{{end}}</tbody></table>
<form method="post" action="{{domurl .Domain.Name}}/accounts" id="add-account"><fieldset><legend>Create an account</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>Address <input name="local" required placeholder="name">@{{.Domain.Display}}</label>
<label>Password <input name="password" type="password" autocomplete="new-password" placeholder="empty: generate one"></label>
<label>Quota <input name="quota" size="8" placeholder="e.g. 2G"></label>
<label><input type="checkbox" name="admin" value="on"> administrator</label>
<button type="submit">Create account</button></fieldset></form>
<h2>Aliases and forwarding</h2>
<table id="aliases"><thead><tr><th>Address</th><th>Delivers to</th><th></th></tr></thead><tbody>
{{range .Aliases}}<tr><td>{{display .Address}}{{if catchall .Address}} <span class="tag">catch-all</span>{{end}}</td><td>{{join .Targets}}</td>
<td><a class="danger" href="/admin/aliases/{{pathesc .Address}}/delete">delete</a></td></tr>
{{else}}<tr><td colspan="3">No aliases.</td></tr>{{end}}</tbody></table>
<form method="post" action="{{domurl .Domain.Name}}/aliases" id="add-alias"><fieldset><legend>Add an alias or forward</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>Address <input name="local" required placeholder="name, or * for catch-all">@{{.Domain.Display}}</label><br>
<label>Delivers to (accounts, aliases or external addresses, one per line or comma-separated)<br>
<textarea name="targets" rows="3" cols="50" required></textarea></label><br>
<button type="submit">Add alias</button></fieldset></form>
<h2>DNS records to publish</h2>
<pre id="dns">{{.Zone}}</pre>
<p><a class="danger" href="{{domurl .Domain.Name}}/delete">Delete this domain</a></p>{{end}}`,

	"account": `{{with .Body}}<h1>{{.Display}}</h1>
<p>{{if .Admin}}<span class="tag admin">admin</span>{{end}} {{if .Disabled}}<span class="tag disabled">disabled: cannot log in, mail is kept</span>{{end}}</p>
<table><tbody><tr><th>Domain</th><td><a href="{{domurl .Domain}}">{{.Domain}}</a></td></tr>
<tr><th>Quota</th><td>{{quota .QuotaBytes}}</td></tr><tr><th>Used</th><td>{{size .UsedBytes}} in {{.Messages}} message(s)</td></tr>
<tr><th>Created</th><td>{{date .Created}}</td></tr></tbody></table>
{{if .ShowRetention}}<h2>Retention</h2><table id="retention"><thead><tr><th>Folder</th><th>Messages deleted after</th></tr></thead><tbody>
{{range .Retention}}<tr><td>{{.Folder}}</td><td>{{.Days}} day(s)</td></tr>
{{else}}<tr><td colspan="2">No folder of this account expires.</td></tr>{{end}}</tbody></table>{{end}}
<form method="post" action="{{accturl .Address}}/password" id="reset-password"><fieldset><legend>Reset the password</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>New password <input name="password" type="password" autocomplete="new-password" placeholder="empty: generate one"></label>
<button type="submit">Set password</button></fieldset></form>
<form method="post" action="{{accturl .Address}}/quota" id="set-quota"><fieldset><legend>Quota</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label>Quota <input name="quota" size="8" value="{{if .QuotaBytes}}{{.QuotaBytes}}{{end}}" placeholder="empty: default"></label>
<button type="submit">Set quota</button></fieldset></form>
<form method="post" action="{{accturl .Address}}/{{if .Disabled}}enable{{else}}disable{{end}}" id="toggle-disabled"><fieldset><legend>Access</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">{{if .Disabled}}Enable the account{{else}}Disable the account{{end}}</button></fieldset></form>
<form method="post" action="{{accturl .Address}}/{{if .Admin}}revoke{{else}}grant{{end}}" id="toggle-admin"><fieldset><legend>Administrator</legend>
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">{{if .Admin}}Remove admin rights{{else}}Make administrator{{end}}</button></fieldset></form>
<p><a class="danger" href="{{accturl .Address}}/delete">Delete this account</a></p>{{end}}`,

	"confirm": `{{with .Body}}<h1>{{.Title}}</h1><p id="confirm-text">{{.Text}}</p>
<form method="post" action="{{.Action}}" id="confirm"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit" class="danger">{{.Button}}</button> <a href="{{.Back}}">Cancel</a></form>{{end}}`,

	"queue": `<h1>Outbound queue</h1>{{with .Body}}{{if not .Available}}<p id="queue-none">This version has no outbound queue:
forwards to external addresses are refused with a temporary error, and nothing waits here.</p>{{else}}
<table id="queue"><thead><tr><th>ID</th><th>From</th><th>To</th><th>Size</th><th>Attempts</th><th>Next attempt</th><th>Last error</th></tr></thead><tbody>
{{range .Messages}}<tr><td>{{.ID}}</td><td>{{.From}}</td><td>{{join .To}}</td><td>{{size .Size}}</td><td>{{.Attempts}}</td><td>{{date .NextAttempt}}</td><td>{{.LastError}}</td></tr>
{{else}}<tr><td colspan="7">The queue is empty.</td></tr>{{end}}</tbody></table>{{end}}{{end}}`,

	"audit": `<h1>Audit log</h1>{{template "audit" .Body.Entries}}
{{if .Body.Next}}<p><a href="/admin/audit?before={{.Body.Next}}">Older entries</a></p>{{end}}`,

	"limits": `<h1>Login blocks</h1>
<p>Client addresses, networks and accounts refused after too many failed logins. A block ends by itself at the time shown.</p>
<table id="blocks"><thead><tr><th>Blocked</th><th>Kind</th><th>Since (UTC)</th><th>Until (UTC)</th><th>Reason</th><th></th></tr></thead><tbody>
{{range .Body.Blocks}}<tr><td>{{.Target}}</td><td>{{.Kind}}</td><td>{{datetime .Created}}</td><td>{{datetime .Until}}</td><td>{{.Reason}}</td>
<td><form method="post" action="/admin/limits/blocks/clear"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="key" value="{{.Key}}"><button type="submit">Lift</button></form></td></tr>
{{else}}<tr><td colspan="6">No blocks in force.</td></tr>{{end}}</tbody></table>
{{if .Body.Blocks}}<form method="post" action="/admin/limits/blocks/clear" id="clear-all-blocks"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="key" value="*"><button type="submit" class="danger">Lift all blocks</button></form>{{end}}
{{if .Body.Rules}}<h1>Retention rules</h1>
<p>Messages older than the days given are deleted from the folder. The most specific rule wins: account, then domain, then server.</p>
<table id="retention-rules"><thead><tr><th>Applies to</th><th>Folder</th><th>Days</th></tr></thead><tbody>
{{range .Body.Retention}}<tr><td>{{if .Account}}{{display .Account}}{{else if .Domain}}{{.Domain}}{{else}}every domain{{end}}</td><td>{{.Folder}}</td><td>{{.Days}}</td></tr>
{{else}}<tr><td colspan="3">No retention rules: mail is kept until deleted.</td></tr>{{end}}</tbody></table>{{end}}`,

	"tokens": `<h1>API tokens</h1>
<p>A token gives full admin rights over the JSON API (see README). It is shown once, when created.</p>
<table id="tokens"><thead><tr><th>ID</th><th>Name</th><th>Created</th><th>By</th><th></th></tr></thead><tbody>
{{range .Body}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{date .Created}}</td><td>{{.CreatedBy}}</td>
<td><form method="post" action="/admin/tokens/{{.ID}}/delete"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button type="submit" class="danger">Revoke</button></form></td></tr>
{{else}}<tr><td colspan="5">No tokens.</td></tr>{{end}}</tbody></table>
<form method="post" action="/admin/tokens" id="add-token"><fieldset><legend>Create a token</legend>
<input type="hidden" name="csrf" value="{{.CSRF}}"><label>Name <input name="name" required placeholder="hosting panel"></label>
<button type="submit">Create token</button></fieldset></form>`,
}

const auditTable = `{{define "audit"}}<table class="audit"><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Target</th><th>Detail</th></tr></thead><tbody>
{{range .}}<tr><td>{{datetime .Time}}</td><td>{{.Actor}}</td><td>{{.Action}}</td><td>{{display .Target}}</td><td>{{.Detail}}</td></tr>
{{else}}<tr><td colspan="5">No changes recorded.</td></tr>{{end}}</tbody></table>{{end}}`

var funcs = template.FuncMap{
	"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"size":     ops.FormatSize,
	"quota": func(n int64) string {
		if n == 0 {
			return "default"
		}
		return ops.FormatSize(n)
	},
	"join":     func(s []string) string { return strings.Join(s, ", ") },
	"catchall": func(a string) bool { return strings.HasPrefix(a, "@") },
	"display":  displayTarget,
	"domurl":   domainURL,
	"accturl":  accountURL,
	"pathesc":  url.PathEscape,
}

// pages are parsed once; they are never changed afterwards.
var pages = func() map[string]*template.Template {
	base := template.Must(template.Must(template.New("layout").Funcs(funcs).Parse(layout)).Parse(auditTable))
	m := map[string]*template.Template{}
	for name, content := range pageTemplates {
		m[name] = template.Must(template.Must(base.Clone()).Parse(`{{define "content"}}` + content + `{{end}}`))
	}
	return m
}()

// pageData is what the layout shows around a page.
type pageData struct {
	Title    string
	User     string // the logged-in admin; empty on login and error pages
	CSRF     string
	Flash    string
	FlashErr bool
	Body     any
}

// render writes a page without a session (login, forbidden).
func (c *Console) render(w http.ResponseWriter, status int, name string, body any) {
	title := map[string]string{"login": "Log in", "forbidden": "Forbidden"}[name]
	c.write(w, status, name, pageData{Title: title, Body: body})
}

// page writes a page of a logged-in admin, with the pending flash.
func (c *Console) page(w http.ResponseWriter, q *request, name, title string, body any) {
	d := pageData{Title: title, User: q.sess.Address, CSRF: q.sess.CSRF, Body: body}
	if f := c.sessions.TakeFlash(q.sess); f != "" {
		d.Flash, d.FlashErr = strings.TrimPrefix(f, "!"), strings.HasPrefix(f, "!")
	}
	c.write(w, http.StatusOK, name, d)
}

func (c *Console) write(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages[name].ExecuteTemplate(w, "layout", d); err != nil {
		c.log.Error("admin: page", "page", name, "err", err)
	}
}
