package webmail

import (
	"html"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML mail is shown in three layers of defence: bluemonday keeps only
// harmless elements, attributes, URL schemes and CSS properties (no
// script, no style sheets, no forms, no frames, no url() in CSS); our pass
// over its output rewrites image sources (cid: to our part URLs, remote
// images removed until the user allows them) and link targets; and the
// document is served in a sandboxed frame whose own CSP allows no script
// and, unless allowed, no image from elsewhere.

// newPolicy is the sanitiser for HTML mail: bluemonday's policy for user
// content plus the presentational HTML that mail uses.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowElements("center", "font", "span", "div", "section", "article", "header", "footer", "main",
		"small", "big", "u", "s", "strike", "sub", "sup", "hr", "br", "caption", "address", "figure", "figcaption", "mark")
	p.AllowAttrs("color", "face", "size").OnElements("font")
	p.AllowAttrs("align", "valign", "bgcolor", "width", "height", "border", "cellpadding", "cellspacing",
		"colspan", "rowspan", "nowrap").OnElements("table", "tr", "td", "th", "tbody", "thead", "tfoot", "col", "colgroup")
	p.AllowAttrs("align").OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "img", "hr", "center", "caption")
	p.AllowAttrs("width", "height", "border", "hspace", "vspace", "alt", "title", "src").OnElements("img")
	p.AllowAttrs("bgcolor", "text", "link", "vlink").OnElements("body")
	p.AllowStyles(
		"color", "background-color", "font-family", "font-size", "font-weight", "font-style", "font-variant",
		"text-align", "text-decoration", "text-transform", "text-indent", "line-height", "letter-spacing",
		"word-spacing", "vertical-align", "white-space", "word-break", "overflow-wrap", "direction",
		"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
		"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
		"border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
		"border-width", "border-collapse", "border-spacing", "border-radius",
		"width", "height", "max-width", "min-width", "max-height", "min-height",
		"display", "float", "clear", "list-style-type", "table-layout", "text-shadow", "opacity",
	).Globally()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.AllowDataURIImages()
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoReferrerOnLinks(true)
	return p
}

// frameRefs is what the rewriting pass needs to know of the message.
type frameRefs struct {
	// cids maps a Content-ID (lower case, without angle brackets) to the
	// URL of its part.
	cids        map[string]string
	allowRemote bool
	// compose turns a mailto: URL into a link to our compose page.
	compose func(mailto string) string
}

// cleaned is sanitised HTML and what was found on the way.
type cleaned struct {
	html     string
	remote   int             // remote images (removed unless allowed)
	usedCIDs map[string]bool // Content-IDs shown inline
}

// suspiciousCSS matches CSS that could fetch something or escape
// bluemonday's property checks.
var suspiciousCSS = regexp.MustCompile(`(?i)url\s*\(|expression\s*\(|@import|\\|image-set|-moz-binding|behavior\s*:`)

// cleanHTML sanitises an HTML part for the message frame.
func (wm *Webmail) cleanHTML(src string, refs frameRefs) cleaned {
	if len(src) > maxHTMLInput {
		src = src[:maxHTMLInput]
	}
	safe := wm.policy.Sanitize(src)
	res := cleaned{usedCIDs: map[string]bool{}}
	var b strings.Builder
	b.Grow(len(safe) + 256)
	z := nethtml.NewTokenizer(strings.NewReader(safe))
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			break
		}
		tok := z.Token()
		if tt == nethtml.StartTagToken || tt == nethtml.SelfClosingTagToken {
			tok.Attr = rewriteAttrs(tok, refs, &res)
		}
		b.WriteString(tok.String())
	}
	res.html = b.String()
	return res
}

// rewriteAttrs applies our rules to one tag's (already sanitised)
// attributes.
func rewriteAttrs(tok nethtml.Token, refs frameRefs, res *cleaned) []nethtml.Attribute {
	out := make([]nethtml.Attribute, 0, len(tok.Attr)+2)
	link := tok.DataAtom == atom.A || tok.DataAtom == atom.Area
	target := ""
	for _, a := range tok.Attr {
		switch {
		case a.Key == "style" && suspiciousCSS.MatchString(a.Val):
			continue
		case a.Key == "srcset" || a.Key == "background" || a.Key == "target" || strings.HasPrefix(a.Key, "on"):
			continue
		case a.Key == "src" && tok.DataAtom == atom.Img:
			v, ok := imageSource(a.Val, refs, res)
			if !ok {
				out = append(out, nethtml.Attribute{Key: "data-blocked", Val: "1"})
				continue
			}
			a.Val = v
		case a.Key == "src":
			continue // only images may load anything
		case a.Key == "href" && link:
			if u, err := url.Parse(a.Val); err == nil && strings.EqualFold(u.Scheme, "mailto") && refs.compose != nil {
				a.Val = refs.compose(a.Val)
				target = "_top"
			} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			} else {
				target = "_blank"
			}
		}
		out = append(out, a)
	}
	if target != "" {
		out = append(out, nethtml.Attribute{Key: "target", Val: target})
		if target == "_blank" && !hasAttr(out, "rel") {
			out = append(out, nethtml.Attribute{Key: "rel", Val: "noopener noreferrer"})
		}
	}
	return out
}

func hasAttr(l []nethtml.Attribute, key string) bool {
	for _, a := range l {
		if a.Key == key {
			return true
		}
	}
	return false
}

// imageSource decides an image's source: a cid: reference becomes its
// part's URL, data: images stay, remote ones stay only when allowed.
func imageSource(src string, refs frameRefs, res *cleaned) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(src))
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "cid":
		id := u.Opaque
		if id == "" {
			id = strings.TrimPrefix(u.Path, "/")
		}
		if dec, err := url.PathUnescape(id); err == nil {
			id = dec
		}
		id = normalizeCID(id)
		if target, ok := refs.cids[id]; ok {
			res.usedCIDs[id] = true
			return target, true
		}
		return "", false
	case "data":
		return src, true
	case "http", "https":
		res.remote++
		return src, refs.allowRemote
	}
	return "", false
}

// normalizeCID is a Content-ID as a lookup key.
func normalizeCID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	return strings.ToLower(id)
}

// frameDoc wraps cleaned HTML in the document the frame shows.
func frameDoc(body string) string {
	return `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<style>html{color-scheme:light}body{margin:0;padding:12px 16px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff;overflow-wrap:anywhere}` +
		`img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}blockquote{margin:0 0 0 .6em;padding-left:.8em;border-left:3px solid #d0d7de;color:#57606a}` +
		`img[data-blocked]{display:inline-block;min-width:24px;min-height:24px;background:#f3f4f6;outline:1px dashed #c0c4cc}a{color:#0b57d0}</style></head><body>` +
		body + `</body></html>`
}

// frameCSP is the policy of the message frame: no script in any case,
// styles only inline, images from us and data: URLs, or also remote ones
// when the user allowed them; sandboxed even when opened on its own.
func frameCSP(allowRemote bool) string {
	img := "img-src 'self' data:"
	if allowRemote {
		img += " https: http:"
	}
	return "default-src 'none'; " + img + "; style-src 'unsafe-inline'; font-src 'none'; form-action 'none'; " +
		"frame-ancestors 'self'; base-uri 'none'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
}

// Plain text display.

// linkURL finds URLs and addresses in plain text.
var linkURL = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'\x60]+|\bmailto:[^\s<>"'\x60]+|\bwww\.[a-z0-9-]+\.[^\s<>"'\x60]+`)

// textHTML renders plain text as escaped HTML with its URLs linked and
// quoted lines marked.
func textHTML(text string, compose func(string) string) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/8)
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		line = strings.TrimSuffix(line, "\r")
		quoted := strings.HasPrefix(line, ">")
		if quoted {
			b.WriteString(`<span class="q">`)
		}
		last := 0
		for _, m := range linkURL.FindAllStringIndex(line, -1) {
			u := strings.TrimRight(line[m[0]:m[1]], ".,;:!?)]}")
			end := m[0] + len(u)
			b.WriteString(html.EscapeString(line[last:m[0]]))
			href, target := u, "_blank"
			switch {
			case strings.HasPrefix(strings.ToLower(u), "mailto:"):
				href, target = compose(u), ""
			case strings.HasPrefix(strings.ToLower(u), "www."):
				href = "https://" + u
			}
			b.WriteString(`<a href="` + html.EscapeString(href) + `"`)
			if target != "" {
				b.WriteString(` target="_blank" rel="noopener noreferrer"`)
			}
			b.WriteString(`>` + html.EscapeString(u) + `</a>`)
			last = end
		}
		b.WriteString(html.EscapeString(line[last:]))
		if quoted {
			b.WriteString(`</span>`)
		}
	}
	return b.String()
}
