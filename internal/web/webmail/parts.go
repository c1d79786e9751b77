package webmail

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// loaded is one message read for a part request.
type loaded struct {
	mb   store.Mailbox
	uid  store.UID
	full []byte // as stored: the per-copy trace prefix, then the body
	msg  []byte // the body, which the structure's offsets refer to
	s    *message.Structure
}

// load reads the message a request names by its mailbox and UID path
// values, checking that it is the user's.
func (wm *Webmail) load(ctx context.Context, q *request, mbID, uidStr string) (*loaded, error) {
	mb, err := wm.mailbox(ctx, q, mbID)
	if err != nil {
		return nil, err
	}
	uid, err := parseUID(uidStr)
	if err != nil {
		return nil, err
	}
	meta, err := wm.o.Store.GetMessage(ctx, mb.ID, uid)
	if err != nil {
		return nil, err
	}
	full, msg, err := wm.readBody(ctx, meta)
	if err != nil {
		return nil, err
	}
	s := wm.structure(ctx, mb.ID, uid)
	if s == nil {
		s = message.Parse(msg)
	}
	return &loaded{mb: mb, uid: uid, full: full, msg: msg, s: s}, nil
}

// readBody reads a message and splits off its per-copy prefix: the
// stored structure describes the body shared by every copy.
func (wm *Webmail) readBody(ctx context.Context, m store.MessageMeta) (full, body []byte, err error) {
	full, err = wm.o.Store.ReadMessage(ctx, m.Mailbox, m.UID)
	if err != nil {
		return nil, nil, err
	}
	return full, full[min(max(m.PrefixLen, 0), len(full)):], nil
}

// partOf returns the part at a section of a loaded message.
func (l *loaded) partOf(sec string) (*message.Part, error) {
	path, ok := parseSection(sec)
	if !ok {
		return nil, errNoPart
	}
	p, ok := l.s.PartAt(path)
	if !ok {
		return nil, errNoPart
	}
	return p, nil
}

// htmlFrame serves an HTML part, cleaned, as the document of the
// sandboxed message frame, with its own CSP.
func (wm *Webmail) htmlFrame(w http.ResponseWriter, r *http.Request, q *request) {
	l, err := wm.load(r.Context(), q, r.PathValue("mb"), r.PathValue("uid"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	p, err := l.partOf(r.PathValue("section"))
	if err != nil || p.Type != "text" {
		wm.fail(w, r, q, errNoPart)
		return
	}
	src, err := p.DecodedText(l.msg)
	if err != nil {
		src = strings.ToValidUTF8(string(p.Body(l.msg)), "\uFFFD")
	}
	allow := r.URL.Query().Get("images") == "1"
	refs := frameRefs{allowRemote: allow, compose: wm.composeMailto,
		cids: cidMap(l.s, func(sec string) string { return wm.partURL(l.mb.ID, l.uid, "part", sec) })}
	var body string
	if p.Subtype == "html" {
		body = wm.cleanHTML(src, refs).html
	} else {
		body = `<pre>` + textHTML(truncateUTF8(src, maxShownText), wm.composeMailto) + `</pre>`
	}
	h := w.Header()
	h.Set("Content-Security-Policy", frameCSP(allow))
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(frameDoc(body)))
}

// part serves one part decoded: viewable types (common images, plain
// text) inline, everything else, and anything with ?dl=1, as a download.
// No part is ever served as HTML, SVG or another active type, and the
// response's CSP sandboxes it in any case.
func (wm *Webmail) part(w http.ResponseWriter, r *http.Request, q *request) {
	l, err := wm.load(r.Context(), q, r.PathValue("mb"), r.PathValue("uid"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	p, err := l.partOf(r.PathValue("section"))
	if err != nil || p.IsMultipart() {
		wm.fail(w, r, q, errNoPart)
		return
	}
	download := r.URL.Query().Get("dl") == "1" || !viewable(p)
	var data []byte
	ctype := "application/octet-stream"
	switch {
	case p.Type == "text" && !download:
		txt, err := p.DecodedText(l.msg)
		if err != nil {
			txt = string(p.Body(l.msg))
		}
		data, ctype = []byte(txt), "text/plain; charset=utf-8"
	default:
		data, err = p.Decoded(l.msg)
		if err != nil { // unknown encoding: the bytes as stored
			data = p.Body(l.msg)
		}
		if p.Type == "image" && inlineImage(p.Subtype) {
			ctype = "image/" + p.Subtype
		}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	disp := "inline"
	if download {
		disp = "attachment"
	}
	h.Set("Content-Disposition", contentDisposition(disp, attachmentName(p)))
	// A part never changes: private caching lets inline images load once.
	h.Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(data)
}

// raw serves the whole message as stored: as a download (.eml), or as
// text to read its source.
func (wm *Webmail) raw(w http.ResponseWriter, r *http.Request, q *request) {
	l, err := wm.load(r.Context(), q, r.PathValue("mb"), r.PathValue("uid"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(l.full)))
	if r.URL.Query().Get("dl") == "1" {
		name := cleanFilename(oneLine(l.s.Envelope.SubjectDecoded))
		if name == "" {
			name = "message"
		}
		h.Set("Content-Type", "message/rfc822")
		h.Set("Content-Disposition", contentDisposition("attachment", name+".eml"))
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	_, _ = w.Write(l.full)
}

// contentDisposition formats the header with the file name in ASCII and,
// when needed, in UTF-8 (RFC 6266 §4.3, RFC 8187).
func contentDisposition(disp, name string) string {
	v := mime.FormatMediaType(disp, map[string]string{"filename": name})
	if v == "" {
		return disp
	}
	return v
}
