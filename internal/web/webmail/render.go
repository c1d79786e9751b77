package webmail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mailhouse/internal/store"
	"mailhouse/internal/web"
)

// page is what every page template gets.
type page struct {
	Title string
	// View names the layout: "list", "message", "compose", "settings",
	// "folders", "login", "error"; the phone layout shows one pane by it.
	View    string
	Folders []folder
	// Current is the folder the page is in (for the search box).
	Current *folder
	// Query is the search the page shows.
	Query   string
	Flash   string
	FlashOK bool
	Data    any

	q      *request // nil on the login page
	prefix string
	assets map[string]asset
}

func (p *page) Prefix() string { return p.prefix }

// Account is the logged-in address ("" on the login page).
func (p *page) Account() string {
	if p.q == nil {
		return ""
	}
	return p.q.acct.Address
}

// CSRF is the session's form token.
func (p *page) CSRF() string {
	if p.q == nil {
		return ""
	}
	return p.q.sess.CSRF
}

// CSRFField is the form field name of the token.
func (p *page) CSRFField() string { return web.CSRFField }

// Static returns an asset's URL with its content hash, so that it can be
// cached for long.
func (p *page) Static(name string) string {
	return p.prefix + "/static/" + name + "?v=" + p.assets[name].hash
}

// Unseen is the INBOX's unread count, for the title.
func (p *page) Unseen() int {
	for _, f := range p.Folders {
		if f.Special == "inbox" {
			return f.Unseen
		}
	}
	return 0
}

func (wm *Webmail) parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"size":     humanSize,
		"date":     wm.shortDate,
		"fulldate": wm.fullDate,
		"isodate":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pct": func(a, b int64) int {
			if b <= 0 {
				return 0
			}
			return int(min(100, a*100/b))
		},
		"add":  func(a, b int) int { return a + b },
		"icon": icon,
		"initial": func(l []addrView) string {
			if len(l) == 0 {
				return "?"
			}
			n := l[0].Name
			if n == "" {
				n = l[0].Addr
			}
			for _, r := range n {
				if unicode.IsLetter(r) || unicode.IsDigit(r) {
					return strings.ToUpper(string(r))
				}
			}
			return "?"
		},
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html"))
	pages := map[string]*template.Template{}
	entries, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(path.Base(e), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(files, e))
	}
	return pages
}

// render writes a page. p.q may be nil (login page).
func (wm *Webmail) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	p.prefix, p.assets = wm.p, wm.assets
	if p.View == "" {
		p.View = name
	}
	if p.q != nil && p.Flash == "" {
		if f := wm.sessions.TakeFlash(p.q.sess); f != "" {
			p.Flash, p.FlashOK = strings.CutPrefix(f, "ok:")
			if !p.FlashOK {
				p.Flash = strings.TrimPrefix(f, "err:")
			}
		}
	}
	var b bytes.Buffer
	if err := wm.pages[name].ExecuteTemplate(&b, "layout.html", p); err != nil {
		web.Logger(r, wm.log).Error("webmail: rendering", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// flash keeps a one-time message for the page after a redirect.
func (wm *Webmail) flash(q *request, ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		msg = "ok:" + msg
	} else {
		msg = "err:" + msg
	}
	wm.sessions.SetFlash(q.sess, msg)
}

// errorPage shows a message with the folder list, so the user can go on.
func (wm *Webmail) errorPage(w http.ResponseWriter, r *http.Request, q *request, status int, msg string) {
	p := &page{Title: http.StatusText(status), View: "error", Data: msg, q: q}
	if q != nil && status != http.StatusForbidden {
		p.Folders, _ = wm.folders(r.Context(), q.acct.ID, 0)
	}
	wm.render(w, r, status, "error", p)
}

func (wm *Webmail) notFound(w http.ResponseWriter, r *http.Request, q *request) {
	wm.errorPage(w, r, q, http.StatusNotFound, "There is no such page, folder or message here.")
}

// fail reports an error: a missing folder, message or part is a 404,
// anything else is logged and a 500.
func (wm *Webmail) fail(w http.ResponseWriter, r *http.Request, q *request, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, errNoMailbox) || errors.Is(err, errNoPart) {
		wm.notFound(w, r, q)
		return
	}
	q.log.Error("webmail: request failed", "path", r.URL.Path, "err", err)
	wm.errorPage(w, r, q, http.StatusInternalServerError, "Something went wrong on the server. Try again in a moment.")
}

// icon is an SVG icon of the page's sprite (templates/parts.html).
func icon(name string) template.HTML {
	return template.HTML(`<svg class="ic" aria-hidden="true"><use href="#i-` + template.HTMLEscapeString(name) + `"></use></svg>`)
}

// asset is an embedded static file.
type asset struct {
	data  []byte
	ctype string
	hash  string
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		out[e.Name()] = asset{data: b, ctype: ct, hash: hex.EncodeToString(sum[:6])}
	}
	return out
}

// static serves the embedded CSS and script. They are public and
// immutable per content hash.
func (wm *Webmail) static(w http.ResponseWriter, r *http.Request) {
	a, ok := wm.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+a.hash+`"`)
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.data)
}

// URLs.

func (wm *Webmail) folderURL(mb store.MailboxID, lq listQuery) string {
	return wm.p + "/f/" + strconv.FormatInt(int64(mb), 10) + lq.encode()
}

func (wm *Webmail) messageURL(mb store.MailboxID, uid store.UID, lq listQuery) string {
	return wm.p + "/f/" + strconv.FormatInt(int64(mb), 10) + "/" + strconv.FormatUint(uint64(uid), 10) + lq.encode()
}

func (wm *Webmail) partURL(mb store.MailboxID, uid store.UID, kind, section string) string {
	return wm.p + "/f/" + strconv.FormatInt(int64(mb), 10) + "/" + strconv.FormatUint(uint64(uid), 10) + "/" + kind + "/" + url.PathEscape(section)
}

// Formatting helpers for templates.

func humanSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 0, 64) + " KB"
	case n < 1000*1024*1024:
		return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/(1024*1024*1024), 'f', 1, 64) + " GB"
}

// shortDate is a list's date: the time today, day and month this year,
// the full date before.
func (wm *Webmail) shortDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(wm.o.Location)
	now := wm.o.Now().In(wm.o.Location)
	switch {
	case t.Year() == now.Year() && t.YearDay() == now.YearDay():
		return t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

func (wm *Webmail) fullDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(wm.o.Location).Format("Mon, 2 Jan 2006 15:04")
}
