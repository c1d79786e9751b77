package webmail_test

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// hostileHTML has a script, event handlers, a remote image (a tracker),
// CSS that fetches, a form, an iframe and an inline cid: image.
const hostileHTML = "From: Mallory <mallory@elsewhere.example>\r\n" +
	"To: alice@example.test\r\n" +
	"Subject: =?utf-8?q?Hostile_=E2=98=A0_HTML?=\r\n" +
	"Date: Mon, 2 Jun 2025 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n" +
	"--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<html><head><style>body{background:url(https://tracker.example/css.png)}</style><script>alert('head')</script></head>" +
	"<body onload=\"steal()\"><p>Hello <b>Alice</b>!</p>" +
	"<script>document.title='pwned'</script>" +
	"<img src=\"https://tracker.example/pixel.gif\" alt=\"tracker\" onerror=\"alert(1)\">" +
	"<img src=\"cid:logo@example\" alt=\"logo\">" +
	"<p style=\"color:red;background-image:url(https://tracker.example/bg.png)\">red</p>" +
	"<a href=\"javascript:alert(2)\">js link</a> <a href=\"https://example.org/x\">web link</a> <a href=\"mailto:carol@example.test?subject=hi\">mail</a>" +
	"<form action=\"https://evil.example/\"><input name=\"pw\"></form><iframe src=\"https://evil.example/\"></iframe>" +
	"<svg><script>alert(3)</script></svg></body></html>\r\n" +
	"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@example>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n" +
	"--rel--\r\n"

// TestReadHTMLSanitised: the message page frames the HTML; the frame's
// document has no script, no handler, no remote image until allowed, the
// cid: image points at its part, and its CSP forbids script.
func TestReadHTMLSanitised(t *testing.T) {
	e := start(t)
	d := deliver(t, e.st, "alice@example.test", hostileHTML)
	c := e.login(t, "alice")
	page := c.get(msgPath(t, e.st, "alice@example.test", "INBOX", d.UID))
	if page.status != 200 {
		t.Fatalf("message page: %d\n%s", page.status, page.body)
	}
	for _, want := range []string{"Hostile ☠ HTML", "Mallory", `id="remote-notice"`, `<iframe class="html"`, `sandbox="allow-same-origin allow-popups`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "tracker.example") || strings.Contains(page.body, "alert(") {
		t.Error("the message page itself carries the mail's HTML")
	}
	// The inline image is shown in the HTML, so it is not listed.
	if strings.Contains(page.body, `id="attachments"`) {
		t.Error("the inline cid: image is listed as an attachment")
	}
	frame := regexp.MustCompile(`<iframe class="html" src="([^"]+)"`).FindStringSubmatch(page.body)
	if frame == nil {
		t.Fatal("no frame")
	}
	f := c.get(strings.ReplaceAll(frame[1], "&amp;", "&"))
	if f.status != 200 {
		t.Fatalf("frame: %d", f.status)
	}
	csp := f.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src 'self' data:;", "sandbox", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("frame CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "allow-scripts") {
		t.Errorf("frame CSP allows script: %q", csp)
	}
	if f.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("frame X-Frame-Options %q", f.header.Get("X-Frame-Options"))
	}
	low := strings.ToLower(f.body)
	for _, bad := range []string{"<script", "alert(", "onload", "onerror", "javascript:", "tracker.example", "<form", "<iframe", "<style>body{background", "url("} {
		if strings.Contains(low, bad) {
			t.Errorf("frame keeps %q:\n%s", bad, f.body)
		}
	}
	for _, want := range []string{"Hello <b>Alice</b>!", `data-blocked="1"`, `href="https://example.org/x"`, `target="_blank"`, "/mail/compose?", `target="_top"`, "color: red"} {
		if !strings.Contains(f.body, want) {
			t.Errorf("frame lacks %q:\n%s", want, f.body)
		}
	}
	cid := regexp.MustCompile(`<img src="(/mail/f/\d+/\d+/part/2)" alt="logo"`).FindStringSubmatch(f.body)
	if cid == nil {
		t.Fatalf("cid: image not rewritten:\n%s", f.body)
	}
	img := c.get(cid[1])
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
	if img.status != 200 || img.header.Get("Content-Type") != "image/png" || img.body != string(png) {
		t.Errorf("inline image: %d %s %q", img.status, img.header.Get("Content-Type"), img.body)
	}

	// The user asks for remote images: the frame keeps them and its CSP
	// lets them load.
	page = c.get(msgPath(t, e.st, "alice@example.test", "INBOX", d.UID) + "?images=1")
	if strings.Contains(page.body, `id="remote-notice"`) {
		t.Error("the notice stays after images were allowed")
	}
	f = c.get(frame[1] + "?images=1")
	if !strings.Contains(f.body, `src="https://tracker.example/pixel.gif"`) || !strings.Contains(f.header.Get("Content-Security-Policy"), "img-src 'self' data: https: http:") {
		t.Errorf("remote images allowed, frame:\n%s\nCSP %s", f.body, f.header.Get("Content-Security-Policy"))
	}
	if strings.Contains(strings.ToLower(f.body), "<script") || strings.Contains(f.body, "onerror") {
		t.Error("allowing images let script through")
	}
}

// TestReadCharsetsAndAttachments: a Latin-1 body, encoded-word headers in
// other charsets, an attachment with an RFC 2231 UTF-8 name, and a
// forwarded message inside.
func TestReadCharsetsAndAttachments(t *testing.T) {
	e := start(t)
	raw := "From: =?iso-8859-1?q?J=F6rg_M=FCller?= <joerg@elsewhere.example>\r\n" +
		"To: alice@example.test\r\n" +
		"Subject: =?koi8-r?b?8NLJ18XU?= and =?shift_jis?b?k/qWe4zq?=\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Gr=FC=DFe aus K=F6ln, see https://example.org/page?a=1&b=2.\r\n> quoted line\r\n" +
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9%20%E2%84%96%201.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 fake pdf bytes")) + "\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: Inner <inner@elsewhere.example>\r\nSubject: inner subject\r\n\r\ninner body text\r\n" +
		"--b1--\r\n"
	d := deliver(t, e.st, "alice@example.test", raw)
	c := e.login(t, "alice")
	page := c.get(msgPath(t, e.st, "alice@example.test", "INBOX", d.UID))
	for _, want := range []string{"Jörg Müller", "Привет and 日本語", "Grüße aus Köln",
		`<a href="https://example.org/page?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">`, `<span class="q">&gt; quoted line</span>`,
		"Résumé № 1.pdf", "inner subject", "inner body text", "Enclosed message"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	dl := regexp.MustCompile(`href="([^"]+\?dl=1)" download="Résumé`).FindStringSubmatch(page.body)
	if dl == nil {
		t.Fatalf("no download link:\n%s", page.body)
	}
	r := c.get(strings.ReplaceAll(dl[1], "&amp;", "&"))
	if r.status != 200 || r.body != "%PDF-1.4 fake pdf bytes" {
		t.Fatalf("download: %d %q", r.status, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''R%C3%A9sum%C3%A9") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("a PDF is served as %q, want a plain download", ct)
	}
	// Opening marked it seen.
	if m := messages(t, e.st, "alice@example.test", "INBOX"); !has(m[0].Flags, `\Seen`) {
		t.Error("reading did not mark the message seen")
	}
	// The original, as a download and as text.
	raw2 := c.get(msgPath(t, e.st, "alice@example.test", "INBOX", d.UID) + "/raw?dl=1")
	if !strings.Contains(raw2.body, "Subject: =?koi8-r?b?8NLJ18XU?=") || raw2.header.Get("Content-Type") != "message/rfc822" {
		t.Errorf("raw download: %s", raw2.header.Get("Content-Type"))
	}
}

// TestPartsOnlyForTheOwner: another user's messages, parts and folders
// are not found, and no part is served as active content.
func TestPartsOnlyForTheOwner(t *testing.T) {
	e := start(t)
	d := deliver(t, e.st, "bob@example.test", "From: a@elsewhere.example\r\nSubject: bob's\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsecret\r\n--x\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=evil.html\r\n\r\n<script>alert(1)</script>\r\n--x\r\nContent-Type: image/svg+xml\r\nContent-Disposition: inline; filename=x.svg\r\n\r\n<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>\r\n--x--\r\n")
	alice := e.login(t, "alice")
	bobMsg := msgPath(t, e.st, "bob@example.test", "INBOX", d.UID)
	for _, p := range []string{bobMsg, bobMsg + "/part/1", bobMsg + "/html/1", bobMsg + "/raw", folderPath(t, e.st, "bob@example.test", "INBOX")} {
		if r := alice.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, "secret") {
			t.Errorf("alice GET %s: %d", p, r.status)
		}
	}
	bob := e.login(t, "bob")
	for _, sec := range []string{"2", "3"} {
		r := bob.get(bobMsg + "/part/" + sec)
		if r.status != 200 || r.header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("part %s served as %q %q", sec, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
		}
	}
	for _, p := range []string{bobMsg + "/part/9", bobMsg + "/part/1.2.3", bobMsg + "/part/x", bobMsg + "/part/0", "/mail/f/999999/1", "/mail/f/abc", bobMsg + "0000000"} {
		if r := bob.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
}

// TestRenderLimits: a message with more parts than a page shows lists
// the rest as attachments; a huge text is cut with a note; enclosed
// messages are shown three deep at most.
func TestRenderLimits(t *testing.T) {
	e := start(t)
	var b strings.Builder
	b.WriteString("From: a@elsewhere.example\r\nSubject: many parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n")
	for i := 0; i < 40; i++ {
		b.WriteString("--p\r\nContent-Type: text/plain\r\n\r\npart text " + itoa(int64(i)) + "\r\n")
	}
	b.WriteString("--p--\r\n")
	many := deliver(t, e.st, "alice@example.test", b.String())
	huge := deliver(t, e.st, "alice@example.test", "From: a@elsewhere.example\r\nSubject: huge\r\n\r\n"+strings.Repeat("0123456789abcdef\r\n", 80000))
	nested := "Subject: level 6\r\n\r\ninnermost"
	for i := 5; i >= 1; i-- {
		nested = "Subject: level " + itoa(int64(i)) + "\r\nContent-Type: message/rfc822\r\n\r\n" + nested
	}
	deep := deliver(t, e.st, "alice@example.test", "From: a@elsewhere.example\r\n"+nested+"\r\n")
	c := e.login(t, "alice")
	r := c.get(msgPath(t, e.st, "alice@example.test", "INBOX", many.UID))
	if n := strings.Count(r.body, `<div class="text">`); n != 30 {
		t.Errorf("%d text blocks, want 30", n)
	}
	if !strings.Contains(r.body, "10 attachments") {
		t.Error("the parts beyond the limit are not listed")
	}
	r = c.get(msgPath(t, e.st, "alice@example.test", "INBOX", huge.UID))
	if !strings.Contains(r.body, "The text is cut here") || len(r.body) > 1200<<10 || len(r.body) < 1<<20 {
		t.Errorf("huge text: page of %d bytes", len(r.body))
	}
	r = c.get(msgPath(t, e.st, "alice@example.test", "INBOX", deep.UID))
	if n := strings.Count(r.body, "Enclosed message"); n != 3 {
		t.Errorf("%d enclosed messages shown, want 3", n)
	}
}
