package webmail

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	nethtml "golang.org/x/net/html"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

// Fuzz tests for everything the webmail parses or rewrites: the search
// box, the address fields, HTML mail, the MIME layout of any message, and
// the messages it builds. Crashers found are kept in testdata/fuzz.

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "from:bob", `subject:"hello world" body:x`, "is:unread has:attachment", `"unterminated`, "a:b:c", "from:", "to: x", strings.Repeat("x ", 600), "\xff\xfe from:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts := parseQuery(s)
		if len(ts) > maxTerms {
			t.Fatalf("%d terms", len(ts))
		}
		for _, x := range ts {
			if !utf8.ValidString(x.text) || (x.field < fieldUnread && x.text == "") {
				t.Fatalf("bad term %+v from %q", x, s)
			}
		}
	})
}

func FuzzParseRecipients(f *testing.F) {
	for _, s := range []string{"bob@example.org", `"Doe, John" <john@example.org>; x@y.z`, "a@b, , c@d\nE <e@f>", "(comment) <a@b>", `"unterminated <a@b>`, "<<>>", "Ünïcode <ü@exämple.org>", "bob@[127.0.0.1]", "x\\,y@z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok, _ := parseRecipients(s)
		for _, a := range ok {
			if !validAddress(a.Address) {
				t.Fatalf("accepted %q from %q", a.Address, s)
			}
			// What we write back into a form must read the same.
			again, bad := parseRecipients((&mail.Address{Name: oneLine(a.Name), Address: a.Address}).String())
			if len(bad) != 0 || len(again) != 1 || again[0].Address != a.Address {
				t.Fatalf("%q: round trip of %q gives %v %v", s, a.Address, again, bad)
			}
		}
	})
}

// safeHTML reports the first dangerous thing in sanitised HTML.
func unsafeHTML(h string, allowRemote bool) string {
	z := nethtml.NewTokenizer(strings.NewReader(h))
	for {
		tt := z.Next()
		if tt == nethtml.ErrorToken {
			return ""
		}
		tok := z.Token()
		if tt != nethtml.StartTagToken && tt != nethtml.SelfClosingTagToken {
			continue
		}
		switch tok.Data {
		case "script", "style", "iframe", "frame", "object", "embed", "form", "input", "button", "link", "meta", "base", "svg", "math", "textarea", "select":
			return "element " + tok.Data
		}
		for _, a := range tok.Attr {
			k := strings.ToLower(a.Key)
			v := strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(k, "on"):
				return "attribute " + k
			case k == "style" && (strings.Contains(v, "url(") || strings.Contains(v, "expression")):
				return "style " + v
			case k == "href" && !(strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "/mail/compose")):
				return "href " + v
			case k == "src" && tok.Data != "img":
				return "src on " + tok.Data
			case k == "src" && !(strings.HasPrefix(v, "/mail/f/") || strings.HasPrefix(v, "data:image/") || (allowRemote && (strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:")))):
				return "img src " + v
			case k == "srcset" || k == "background" || k == "formaction" || k == "action":
				return "attribute " + k
			}
		}
	}
}

func testWebmail() *Webmail {
	return New(Options{Hostname: "mail.example.test", Now: func() time.Time { return time.Unix(1_750_000_000, 0) }, Location: time.UTC})
}

func FuzzCleanHTML(f *testing.F) {
	seeds := []string{
		`<p onclick="x()">hi<script>alert(1)</script></p>`,
		`<img src="https://t.example/p.gif"><img src="cid:a@b"><img src="CID:%61@b"><img src="javascript:alert(1)">`,
		`<a href="javascript:alert(1)">x</a><a href="mailto:a@b?subject=x">m</a><a href=" https://x.y ">y</a>`,
		`<div style="background:url(http://x/y)">a</div><p style="color:red;width:10px">b</p>`,
		`<svg><script>alert(1)</script></svg><math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
		`<table background="http://x/y"><tr><td bgcolor="red">x</td></tr></table>`,
		`<img src=x onerror=alert(1)//`, `<<img src=x>`, `<style>@import 'http://x'</style>`, `<p style="color:\72 ed">`,
		`<a href="data:text/html,<script>alert(1)</script>">d</a><img src="data:image/png;base64,AAAA">`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<form action="https://evil"><input name=a></form><iframe srcdoc="<script>alert(1)</script>">`,
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	wm := testWebmail()
	refs := func(allow bool) frameRefs {
		return frameRefs{cids: map[string]string{"a@b": "/mail/f/1/2/part/2"}, allowRemote: allow, compose: wm.composeMailto}
	}
	f.Fuzz(func(t *testing.T, src string, allow bool) {
		res := wm.cleanHTML(src, refs(allow))
		if bad := unsafeHTML(res.html, allow); bad != "" {
			t.Fatalf("unsafe output (%s) from %q:\n%s", bad, src, res.html)
		}
		// Sanitising is stable: cleaning the result changes nothing
		// dangerous either.
		if bad := unsafeHTML(wm.cleanHTML(res.html, refs(allow)).html, allow); bad != "" {
			t.Fatalf("second pass unsafe (%s)", bad)
		}
		h := textHTML(src, wm.composeMailto)
		if strings.Contains(h, "<script") || strings.Contains(h, "<img") {
			t.Fatalf("text rendering lets markup through: %q", h)
		}
	})
}

// layout runs the message page's MIME walk over any message.
func layout(wm *Webmail, msg []byte) *collector {
	s := message.Parse(msg)
	if b, err := message.Unmarshal(s.Marshal()); err == nil {
		s = b
	}
	c := &collector{wm: wm, msg: msg, mb: 1, uid: 1, cids: cidMap(s, func(sec string) string { return wm.partURL(1, 1, "part", sec) })}
	c.message(&s.Root, nil, 0)
	c.finish()
	// What compose does with it.
	_ = quote(message.Text(msg, s, maxQuoted))
	_ = forwardBlock(&s.Envelope, wm.fullDate(s.Date))
	l := &loaded{mb: store.Mailbox{ID: 1}, uid: 1, full: msg, msg: msg, s: s}
	_ = draftText(l)
	_ = wm.attachmentsOf(l, true)
	_ = hasAttachments(s)
	return c
}

func FuzzMessageLayout(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<b>x</b><img src=cid:q>\r\n--a--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\nx"))
	for i, p := range testutil.CorpusFiles(f) {
		if i%8 != 0 { // a spread of the corpus as seeds; the corpus test renders them all
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	wm := testWebmail()
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := layout(wm, msg)
		if len(c.blocks) > maxBlocks+maxNested*2+2 || len(c.atts) > 1000 {
			t.Fatalf("%d blocks, %d attachments", len(c.blocks), len(c.atts))
		}
		for _, b := range c.blocks {
			if b.Kind == "text" && (strings.Contains(string(b.HTML), "<script") || !utf8.ValidString(string(b.HTML))) {
				t.Fatalf("text block: %q", b.HTML)
			}
		}
	})
}

func FuzzBuildMessage(f *testing.F) {
	f.Add("Alice <alice@example.test>", "bob@example.org, \"C, D\" <c@d.example>", "x@y.z", "Hello ✓\r\nBcc: evil@x", "body\nline\r\n.\r\n", "<a@b>", "file.txt", []byte("data"))
	f.Add("", "", "", "", "", "", "", []byte{})
	f.Add("a@b.c", "not an address", "", strings.Repeat("long subject ", 40), strings.Repeat("ü", 3000), "<bad id", "../../etc/passwd\r\n", []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, from, to, bcc, subject, body, irt, fname string, data []byte) {
		o := &outgoing{To: newAddrField(to), Bcc: newAddrField(bcc), Subject: subject, Body: body, InReplyTo: irt,
			References: strings.Fields(irt), Date: time.Unix(1_750_000_000, 0).UTC(), MessageID: "fuzz.1@example.test"}
		if l, bad := parseRecipients(from); len(l) == 1 && len(bad) == 0 {
			o.From = l[0]
		} else {
			o.fromFallback = from
		}
		if fname != "" || len(data) > 0 {
			o.Files = []file{{Name: cleanFilename(fname), Type: "application/octet-stream", Data: data}}
		}
		for _, withBcc := range []bool{false, true} {
			b, err := buildMessage(o, withBcc)
			if err != nil {
				return // refused, never half-written
			}
			s := message.Parse(b)
			hdr := s.Root.Header(b)
			if !withBcc {
				if _, ok := message.Get(hdr, "Bcc"); ok {
					t.Fatalf("Bcc written:\n%s", b)
				}
			}
			// Every header line is a field or a continuation: nothing
			// typed can add a field of its own.
			for _, fl := range message.Fields(hdr) {
				switch strings.ToLower(fl.Name) {
				case "date", "message-id", "from", "to", "cc", "bcc", "subject", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding":
				default:
					t.Fatalf("unexpected field %q in:\n%s", fl.Name, b)
				}
			}
			if strings.Count(string(b), "\n") != strings.Count(string(b), "\r\n") {
				t.Fatalf("bare LF in a built message:\n%q", b)
			}
		}
	})
}

func TestComposeMailto(t *testing.T) {
	wm := testWebmail()
	for in, want := range map[string]string{
		"mailto:bob@example.org":                        "/mail/compose?to=bob%40example.org",
		"mailto:bob@example.org?subject=Hi%20there&x=y": "/mail/compose?subject=Hi+there&to=bob%40example.org",
		"mailto:?body=x":                                "/mail/compose?body=x",
		"mailto:%":                                      "/mail/compose?to=%25",
	} {
		if got := wm.composeMailto(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if _, err := url.Parse(wm.composeMailto("mailto:a@b?cc=c@d&body=%0D%0Abcc:x")); err != nil {
		t.Error(err)
	}
}

// BenchmarkCleanHTML: sanitising the HTML parts of the corpus.
func BenchmarkCleanHTML(b *testing.B) {
	wm := testWebmail()
	var docs []string
	var total int64
	for _, p := range testutil.CorpusFiles(b) {
		msg, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := message.Parse(msg)
		s.Walk(func(_ []int, part *message.Part) bool {
			if part.Type == "text" && part.Subtype == "html" {
				if t, err := part.DecodedText(msg); err == nil {
					docs = append(docs, t)
					total += int64(len(t))
				}
			}
			return true
		})
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			wm.cleanHTML(d, frameRefs{compose: wm.composeMailto})
		}
	}
}
