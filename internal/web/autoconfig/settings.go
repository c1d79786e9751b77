package autoconfig

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"mailhouse/internal/directory"
)

// The "email settings" help page: what hosting providers write by hand,
// generated from the running configuration so that it cannot go stale.

// Page is what the settings template shows.
type Page struct {
	Settings
	// Domain is the domain the page is for (A-label), "" for the general
	// page; DisplayDomain is its U-label form.
	Domain, DisplayDomain string
	// UserExample is how a user name looks: you@domain.
	UserExample string
	IMAP, POP3  []Endpoint
	SMTP        []Endpoint
	// Retention in whole days, 0 if messages stay until deleted.
	RetentionDays int
	// MaxMessage is the size limit for people ("25 MB"), "" if unknown.
	MaxMessage string
	// ThunderbirdURL is the autoconfig document for the domain.
	ThunderbirdURL string
}

// NewPage prepares the settings page for a domain ("" for none).
func NewPage(s Settings, domain string) Page {
	p := Page{Settings: s, Domain: domain, IMAP: s.Of(IMAP), POP3: s.Of(POP3), SMTP: s.Of(SMTP)}
	p.UserExample = "you@your-domain"
	if domain != "" {
		p.DisplayDomain = directory.DisplayDomain(domain)
		p.UserExample = "you@" + p.DisplayDomain
		p.ThunderbirdURL = s.BaseURL() + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=" + url.QueryEscape("you@"+domain)
	}
	if s.Retention > 0 {
		p.RetentionDays = int((s.Retention + 24*time.Hour - 1) / (24 * time.Hour))
	}
	if s.MaxMessageBytes > 0 {
		p.MaxMessage = fmt.Sprintf("%d MB", s.MaxMessageBytes/(1<<20))
	}
	return p
}

var settingsTemplate = template.Must(template.New("settings").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Email settings{{if .Domain}} for {{.DisplayDomain}}{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}code{background:#f4f4f4;padding:0 .2rem}.note{background:#fffbe6;border:1px solid #eed;padding:.6rem .8rem}</style>
</head><body>
<h1>Email settings{{if .Domain}} for {{.DisplayDomain}}{{end}}</h1>
<p>Use these settings in any mail program. Most programs (Thunderbird, Outlook, Apple Mail, K-9/Thunderbird for Android)
find them by themselves when you type your email address and password.</p>
<ul id="essentials">
<li>Server name, for receiving and sending: <strong id="hostname">{{.Hostname}}</strong> (exactly this, without a <code>pop.</code>, <code>imap.</code> or <code>smtp.</code> in front)</li>
<li>User name: your <strong>full email address</strong>, e.g. <code>{{.UserExample}}</code></li>
<li>Password: your email password, the same for receiving and sending</li>
</ul>

<h2>Incoming mail</h2>
{{if or .IMAP .POP3}}<table id="incoming"><thead><tr><th>Protocol</th><th>Server</th><th>Port</th><th>Security</th><th>Authentication</th></tr></thead><tbody>
{{range $i, $e := .IMAP}}<tr class="endpoint" data-protocol="{{.Protocol}}" data-port="{{.Port}}" data-security="{{.Security}}"><td>IMAP{{if eq $i 0}} (recommended){{end}}</td><td>{{$.Hostname}}</td><td>{{.Port}}</td><td>{{.Security}}</td><td>Normal password</td></tr>
{{end}}{{range .POP3}}<tr class="endpoint" data-protocol="{{.Protocol}}" data-port="{{.Port}}" data-security="{{.Security}}"><td>POP3</td><td>{{$.Hostname}}</td><td>{{.Port}}</td><td>{{.Security}}</td><td>Normal password</td></tr>
{{end}}</tbody></table>{{else}}<p>This server offers no IMAP or POP3 access.</p>{{end}}
<p>Choose IMAP if you read mail on more than one device: everything stays on the server and in sync.</p>

<h2>Outgoing mail (SMTP)</h2>
{{if .SMTP}}<table id="outgoing"><thead><tr><th>Protocol</th><th>Server</th><th>Port</th><th>Security</th><th>Authentication</th></tr></thead><tbody>
{{range $i, $e := .SMTP}}<tr class="endpoint" data-protocol="{{.Protocol}}" data-port="{{.Port}}" data-security="{{.Security}}"><td>SMTP{{if eq $i 0}} (recommended){{end}}</td><td>{{$.Hostname}}</td><td>{{.Port}}</td><td>{{.Security}}</td><td>Normal password</td></tr>
{{end}}</tbody></table>{{else}}<p>This server offers no outgoing mail service for mail programs.</p>{{end}}
<ul id="outgoing-notes">
<li>Outgoing server requires authentication: <strong>yes, same user name and password as incoming</strong>.</li>
<li>Port 25 is for other mail servers, not for mail programs: send on the port{{if gt (len .SMTP) 1}}s{{end}} above.</li>
</ul>

<h2>Options to leave alone</h2>
<ul id="options">
<li><strong>Secure Password Authentication (SPA): off</strong> (Outlook; also called NTLM). Your password is protected by SSL/TLS instead.</li>
<li>"SSL/TLS" means an encrypted connection from the start; "STARTTLS" means the program switches to encryption right after connecting. Never choose "None".</li>
</ul>

<h2>POP3: "Leave a copy of messages on the server"</h2>
<p id="pop3-copy">With this option <strong>on</strong>, your program downloads a copy and the messages stay in your inbox on the server,
{{if .RetentionDays}}where this server deletes them after {{.RetentionDays}} days{{else}}where this server keeps them until you delete them (it never deletes old mail by itself){{end}},
so you can still read them in webmail, over IMAP and on your other devices; they count towards your storage quota.
With it <strong>off</strong>, the program deletes each message from the server after downloading it: it is then gone from every other device.
Turn it on if you use more than one device.</p>
{{if .MaxMessage}}<p>Largest message this server accepts, attachments included: <span id="max-message">{{.MaxMessage}}</span>.</p>{{end}}

<h2>Automatic set-up</h2>
<ul id="autoconfig">
{{if .Domain}}<li>Thunderbird: <a href="{{.ThunderbirdURL}}">autoconfig file</a></li>{{end}}
<li>Outlook: Autodiscover at <code>{{.BaseURL}}/autodiscover/autodiscover.xml</code></li>
<li>iPhone, iPad and Mac: <form method="get" action="/apple/mail.mobileconfig" style="display:inline">
<label>download a profile for <input name="emailaddress" type="email" required placeholder="{{.UserExample}}" autocomplete="email"></label>
<button type="submit">Download</button></form> (it does not contain your password: you type it when installing)</li>
</ul>
</body></html>`))

// settingsPage serves "/", "/settings" and "/settings/{domain}".
func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	domain := ""
	if d := r.PathValue("domain"); d != "" {
		nd, err := directory.NormalizeDomain(d)
		if err != nil {
			http.Error(w, "malformed domain", http.StatusBadRequest)
			return
		}
		if err := h.hosted(r.Context(), nd); err != nil {
			h.fail(w, r, err)
			return
		}
		domain = nd
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := settingsTemplate.Execute(w, NewPage(h.o.Settings(), domain)); err != nil {
		h.log(r).Error("settings page", "err", err)
	}
}
