package webmail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/message"
	"mailhouse/internal/testenv"
)

// parsed is a stored message read with the standard library.
type parsed struct {
	h     mail.Header
	text  string
	files map[string][]byte // file name → content
	types map[string]string
}

func parseStored(t testing.TB, raw string) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("stored message does not parse: %v\n%s", err, raw)
	}
	p := parsed{h: m.Header, files: map[string][]byte{}, types: map[string]string{}}
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		ct, params, _ := mime.ParseMediaType(get(h, "Content-Type"))
		if ct == "" {
			ct = "text/plain"
		}
		if strings.HasPrefix(ct, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(part.Header, part)
			}
		}
		data, _ := io.ReadAll(body)
		switch strings.ToLower(get(h, "Content-Transfer-Encoding")) {
		case "base64":
			data, _ = io.ReadAll(base64Reader(data))
		case "quoted-printable":
			data, _ = io.ReadAll(qpReader(data))
		}
		_, dp, _ := mime.ParseMediaType(get(h, "Content-Disposition"))
		if name := dp["filename"]; name != "" {
			p.files[name] = data
			p.types[name] = ct
			return
		}
		if ct == "text/plain" && p.text == "" {
			p.text = string(data)
		}
	}
	walk(map[string][]string(m.Header), m.Body)
	return p
}

func get(h map[string][]string, k string) string {
	for key, v := range h {
		if strings.EqualFold(key, k) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// TestSendWithAttachment: alice writes to bob with Cc and Bcc and a file;
// each gets it in their INBOX, the Bcc line only in alice's Sent copy.
func TestSendWithAttachment(t *testing.T) {
	e := start(t, "alice", "bob", "carol", "dave")
	c := e.login(t, "alice")
	if r := c.get("/mail/compose"); r.status != 200 || !strings.Contains(r.body, `id="compose-form"`) || !strings.Contains(r.body, `value="alice@example.test"`) {
		t.Fatalf("compose page: %d", r.status)
	}
	pdf := bytes.Repeat([]byte("%PDF binary \x00\x01\x02\xff "), 2000)
	r := c.postMultipart("/mail/compose", url.Values{
		"action": {"send"}, "from": {"Alice Example <alice@example.test>"}, "to": {"Bob <bob@example.test>"},
		"cc": {"carol@example.test"}, "bcc": {"dave@example.test"}, "subject": {"Quarterly report ✓"},
		"body": {"Hi Bob,\nhere is the report. Größe: ok.\n-- \nAlice"},
	}, []upload{{name: "report Q3.pdf", ctype: "application/pdf", data: pdf}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", r.status, r.body)
	}
	if r = c.follow(r); !strings.Contains(r.body, "Message sent.") {
		t.Error("no confirmation")
	}
	for _, who := range []string{"bob", "carol", "dave"} {
		l := messages(t, e.st, who+"@example.test", "INBOX")
		if len(l) != 1 {
			t.Fatalf("%s has %d messages", who, len(l))
		}
		raw := readMsg(t, e.st, l[0])
		p := parseStored(t, raw)
		dec := new(mime.WordDecoder)
		subj, _ := dec.DecodeHeader(p.h.Get("Subject"))
		if subj != "Quarterly report ✓" || !strings.Contains(p.h.Get("From"), "alice@example.test") ||
			p.h.Get("Message-Id") == "" || p.h.Get("Date") == "" || p.h.Get("Bcc") != "" {
			t.Errorf("%s's copy headers: %v", who, p.h)
		}
		if !strings.Contains(p.text, "Größe: ok.") || !bytes.Equal(p.files["report Q3.pdf"], pdf) || p.types["report Q3.pdf"] != "application/pdf" {
			t.Errorf("%s's copy: text %q, file %d bytes", who, p.text, len(p.files["report Q3.pdf"]))
		}
		if !strings.Contains(raw, "(mailhouse webmail) with HTTPS") || !strings.Contains(raw, "Delivered-To: "+who+"@example.test") {
			t.Errorf("%s's copy lacks trace fields", who)
		}
	}
	sent := messages(t, e.st, "alice@example.test", "Sent")
	if len(sent) != 1 || !has(sent[0].Flags, `\Seen`) {
		t.Fatalf("Sent: %v", sent)
	}
	p := parseStored(t, readMsg(t, e.st, sent[0]))
	if p.h.Get("Bcc") != "<dave@example.test>" || !bytes.Equal(p.files["report Q3.pdf"], pdf) {
		t.Errorf("Sent copy: Bcc %q", p.h.Get("Bcc"))
	}
	// Bob reads it in the webmail and downloads the file.
	b := e.login(t, "bob")
	page := b.get(msgPath(t, e.st, "bob@example.test", "INBOX", 1))
	dl := regexp.MustCompile(`href="([^"]+)" download="report Q3.pdf"`).FindStringSubmatch(page.body)
	if dl == nil {
		t.Fatalf("bob's page has no attachment:\n%s", page.body)
	}
	if got := b.get(html.UnescapeString(dl[1])); got.body != string(pdf) {
		t.Error("downloaded attachment differs")
	}
	// Address completion now knows bob.
	js := c.get("/mail/contacts?q=bo")
	var sugg []struct{ Name, Address, Label string }
	if err := json.Unmarshal([]byte(js.body), &sugg); err != nil || len(sugg) == 0 || sugg[0].Address != "bob@example.test" {
		t.Errorf("contacts: %s", js.body)
	}
}

// TestSendChecks: the checks of submission: the sender must be the
// user's, recipients must exist or be deliverable, limits apply; a
// refused message is not stored anywhere and the form keeps its text.
func TestSendChecks(t *testing.T) {
	e := startWith(t, envOptions{smtp: config.SMTP{MaxRecipients: 3, MaxMessageBytes: 64 << 10}}, "alice", "bob")
	if err := e.st.Store.AddAlias(context.Background(), storeAlias("sales@example.test", "alice@example.test")); err != nil {
		t.Fatal(err)
	}
	c := e.login(t, "alice")
	send := func(f url.Values, files ...upload) resp {
		f.Set("action", "send")
		if f.Get("from") == "" {
			f.Set("from", "alice@example.test")
		}
		if f.Get("subject") == "" {
			f.Set("subject", "check")
		}
		f.Set("body", "the body text stays")
		return c.postMultipart("/mail/compose", f, files)
	}
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"other sender":    {url.Values{"from": {"bob@example.test"}, "to": {"bob@example.test"}}, "You cannot send as bob@example.test"},
		"unknown user":    {url.Values{"to": {"nobody@example.test"}}, "There is no mailbox nobody@example.test here."},
		"bad address":     {url.Values{"to": {"bob@example.test, not an address"}}, "Not an address: not an address"},
		"no recipient":    {url.Values{"to": {""}}, "Add at least one recipient."},
		"external":        {url.Values{"to": {"someone@elsewhere.example"}}, "Mail to other domains cannot be sent from this server yet (someone@elsewhere.example)"},
		"too many":        {url.Values{"to": {"bob@example.test, bob+1@example.test, bob+2@example.test, bob+3@example.test"}}, "Too many recipients: at most 3."},
		"two from":        {url.Values{"from": {"alice@example.test, bob@example.test"}, "to": {"bob@example.test"}}, "The From field must hold one address of yours."},
		"header in to":    {url.Values{"to": {"bob@example.test\r\nBcc: victim@elsewhere.example"}}, "Not an address: Bcc: victim@elsewhere.example"},
		"header injected": {url.Values{"to": {"bob@example.test"}, "subject": {"x\r\nBcc: victim@elsewhere.example"}}, ""},
	} {
		r := send(tc.form)
		if tc.want == "" {
			if r.status != http.StatusSeeOther {
				t.Errorf("%s: %d", name, r.status)
			}
			continue
		}
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(r.body), tc.want) || !strings.Contains(r.body, "the body text stays") {
			t.Errorf("%s: %d, want %q:\n%s", name, r.status, tc.want, r.body)
		}
	}
	// The injection attempt went to bob only, with no Bcc anywhere.
	l := messages(t, e.st, "bob@example.test", "INBOX")
	if len(l) != 1 {
		t.Fatalf("bob has %d messages", len(l))
	}
	if raw := readMsg(t, e.st, l[0]); strings.Contains(raw, "victim") && !strings.Contains(raw, "Subject: x Bcc: victim") {
		t.Errorf("header injection:\n%s", raw)
	}
	// An alias of alice's is hers to send as.
	if r := send(url.Values{"from": {"Sales <sales@example.test>"}, "to": {"bob@example.test"}}); r.status != http.StatusSeeOther {
		t.Errorf("sending as an alias: %d\n%s", r.status, r.body)
	}
	// Too large: refused, and the upload is kept in Drafts.
	r := send(url.Values{"to": {"bob@example.test"}, "subject": {"big one"}}, upload{name: "big.bin", ctype: "application/octet-stream", data: bytes.Repeat([]byte("x"), 60<<10)})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "too large") {
		t.Errorf("too large: %d\n%s", r.status, r.body)
	}
	if n := len(messages(t, e.st, "bob@example.test", "INBOX")); n != 2 {
		t.Errorf("bob has %d messages after the refusals", n)
	}
	if n := len(messages(t, e.st, "alice@example.test", "Sent")); n != 2 {
		t.Errorf("alice's Sent has %d", n)
	}
	// The form size limit: the whole post is refused.
	r = send(url.Values{"to": {"bob@example.test"}}, upload{name: "huge.bin", ctype: "application/octet-stream", data: bytes.Repeat([]byte("y"), 400<<10)})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a post over the size limit: %d", r.status)
	}
	var files []upload
	for i := 0; i < 51; i++ {
		files = append(files, upload{name: "f.txt", ctype: "text/plain", data: []byte("x")})
	}
	if r = send(url.Values{"to": {"bob@example.test"}}, files...); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("51 files: %d", r.status)
	}
}

// TestReplyForwardDraft: reply, reply to all (without oneself), forward
// inline with the attachments and as an attachment, and drafts saved,
// edited and sent.
func TestReplyForwardDraft(t *testing.T) {
	e := start(t, "alice", "bob", "carol")
	orig := "From: Bob <bob@example.test>\r\nTo: alice@example.test, Carol <carol@example.test>\r\nCc: alice+lists@example.test\r\n" +
		"Subject: Lunch?\r\nMessage-ID: <lunch-1@example.test>\r\nReferences: <older@example.test>\r\nDate: Tue, 3 Jun 2025 12:00:00 +0200\r\n" +
		"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nShall we have lunch?\r\nAt noon.\r\n" +
		"--zz\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=menu.png\r\n\r\nPNGDATA\r\n--zz--\r\n"
	d := deliver(t, e.st, "alice@example.test", orig)
	c := e.login(t, "alice")
	ref := itoa(int64(e.st.Mailbox(t, "alice@example.test", "INBOX").ID)) + ":" + itoa(int64(d.UID))
	field := func(body, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			return "<none>"
		}
		return html.UnescapeString(m[1])
	}
	r := c.get("/mail/compose?mode=reply&m=" + ref)
	body := html.UnescapeString(r.body)
	if field(r.body, "to") != `"Bob" <bob@example.test>` || field(r.body, "subject") != "Re: Lunch?" ||
		field(r.body, "in_reply_to") != "<lunch-1@example.test>" || field(r.body, "references") != "<older@example.test> <lunch-1@example.test>" ||
		!strings.Contains(body, "Bob <bob@example.test> wrote:\n> Shall we have lunch?\n> At noon.") {
		t.Errorf("reply form: to %q subject %q irt %q refs %q\n%s", field(r.body, "to"), field(r.body, "subject"), field(r.body, "in_reply_to"), field(r.body, "references"), body)
	}
	r = c.get("/mail/compose?mode=all&m=" + ref)
	if cc := field(r.body, "cc"); cc != `"Carol" <carol@example.test>` {
		t.Errorf("reply-all Cc %q (alice and her plus address must be left out)", cc)
	}
	if from := field(r.body, "from"); from != "alice+lists@example.test" {
		t.Errorf("reply-all From %q: the address the mail came to", from)
	}
	// Send the reply-all.
	f := url.Values{"action": {"send"}, "mode": {"all"}, "orig": {ref}, "from": {field(r.body, "from")}, "to": {field(r.body, "to")},
		"cc": {field(r.body, "cc")}, "subject": {field(r.body, "subject")}, "body": {"Yes!\n\n> Shall we"},
		"in_reply_to": {field(r.body, "in_reply_to")}, "references": {field(r.body, "references")}}
	if r = c.postMultipart("/mail/compose", f, nil); r.status != http.StatusSeeOther {
		t.Fatalf("reply-all: %d\n%s", r.status, r.body)
	}
	got := parseStored(t, readMsg(t, e.st, messages(t, e.st, "carol@example.test", "INBOX")[0]))
	if got.h.Get("In-Reply-To") != "<lunch-1@example.test>" || got.h.Get("References") != "<older@example.test> <lunch-1@example.test>" || got.h.Get("Subject") != "Re: Lunch?" {
		t.Errorf("reply headers: %v", got.h)
	}
	if m := messages(t, e.st, "alice@example.test", "INBOX"); !has(m[0].Flags, `\Answered`) {
		t.Error("the original is not marked answered")
	}

	// Forward inline keeps the attachment.
	r = c.get("/mail/compose?mode=forward&m=" + ref)
	if field(r.body, "subject") != "Fwd: Lunch?" || !strings.Contains(r.body, "---------- Forwarded message ----------") || !strings.Contains(r.body, "menu.png") {
		t.Errorf("forward form:\n%s", r.body)
	}
	keep := regexp.MustCompile(`name="keep" value="([^"]+)"`).FindStringSubmatch(r.body)
	if keep == nil {
		t.Fatal("no kept attachment")
	}
	f = url.Values{"action": {"send"}, "mode": {"forward"}, "orig": {ref}, "from": {"alice@example.test"}, "to": {"bob@example.test"},
		"subject": {"Fwd: Lunch?"}, "body": {"see below"}, "keep": {keep[1]}}
	if r = c.postMultipart("/mail/compose", f, nil); r.status != http.StatusSeeOther {
		t.Fatalf("forward: %d\n%s", r.status, r.body)
	}
	got = parseStored(t, readMsg(t, e.st, messages(t, e.st, "bob@example.test", "INBOX")[1]))
	if string(got.files["menu.png"]) != "PNGDATA" {
		t.Errorf("forwarded attachment: %q", got.files)
	}
	if m := messages(t, e.st, "alice@example.test", "INBOX"); !has(m[0].Flags, "$Forwarded") {
		t.Error("the original is not marked forwarded")
	}

	// Forward as an attachment.
	r = c.get("/mail/compose?mode=attach&m=" + ref)
	if field(r.body, "fwd") != ref || !strings.Contains(r.body, "Lunch?.eml") {
		t.Errorf("attach form:\n%s", r.body)
	}
	f = url.Values{"action": {"send"}, "mode": {"attach"}, "orig": {ref}, "fwd": {ref}, "from": {"alice@example.test"}, "to": {"carol@example.test"}, "subject": {"Fwd: Lunch?"}}
	if r = c.postMultipart("/mail/compose", f, nil); r.status != http.StatusSeeOther {
		t.Fatalf("forward as attachment: %d\n%s", r.status, r.body)
	}
	raw := readMsg(t, e.st, messages(t, e.st, "carol@example.test", "INBOX")[1])
	st := message.Parse([]byte(raw))
	var enclosed bool
	st.Walk(func(_ []int, p *message.Part) bool {
		if p.Type == "message" && p.Envelope != nil && p.Envelope.Subject == "Lunch?" {
			enclosed = true
		}
		return true
	})
	if !enclosed {
		t.Errorf("no enclosed message:\n%s", raw)
	}

	// Drafts: save with a file, edit, save again (replacing), send.
	f = url.Values{"action": {"save"}, "from": {"alice@example.test"}, "to": {"bob@example.test, half typed"}, "subject": {"draft one"}, "body": {"first words"}}
	r = c.postMultipart("/mail/compose", f, []upload{{name: "notes.txt", ctype: "text/plain", data: []byte("my notes")}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "mode=edit") {
		t.Fatalf("save draft: %d %s\n%s", r.status, r.location(), r.body)
	}
	drafts := messages(t, e.st, "alice@example.test", "Drafts")
	if len(drafts) != 1 || !has(drafts[0].Flags, `\Draft`) {
		t.Fatalf("Drafts: %v", drafts)
	}
	r = c.follow(r)
	if field(r.body, "to") != "bob@example.test, half typed" || field(r.body, "subject") != "draft one" || !strings.Contains(r.body, "first words") ||
		!strings.Contains(r.body, "notes.txt") || !strings.Contains(r.body, "Draft saved.") {
		t.Fatalf("editing the draft:\n%s", r.body)
	}
	dref := field(r.body, "draft")
	keep = regexp.MustCompile(`name="keep" value="([^"]+)"`).FindStringSubmatch(r.body)
	f = url.Values{"action": {"save"}, "draft": {dref}, "mode": {"edit"}, "from": {"alice@example.test"}, "to": {"bob@example.test"}, "subject": {"draft two"}, "body": {"more words"}, "keep": {keep[1]}}
	r = c.postMultipart("/mail/compose", f, nil)
	drafts = messages(t, e.st, "alice@example.test", "Drafts")
	if len(drafts) != 1 {
		t.Fatalf("after saving again, Drafts has %d", len(drafts))
	}
	r = c.follow(r)
	dref = field(r.body, "draft")
	keep = regexp.MustCompile(`name="keep" value="([^"]+)"`).FindStringSubmatch(r.body)
	f = url.Values{"action": {"send"}, "draft": {dref}, "mode": {"edit"}, "from": {"alice@example.test"}, "to": {"bob@example.test"}, "subject": {"draft two"}, "body": {"more words"}, "keep": {keep[1]}}
	if r = c.postMultipart("/mail/compose", f, nil); r.status != http.StatusSeeOther {
		t.Fatalf("sending the draft: %d\n%s", r.status, r.body)
	}
	if n := len(messages(t, e.st, "alice@example.test", "Drafts")); n != 0 {
		t.Errorf("the sent draft stays in Drafts (%d)", n)
	}
	bl := messages(t, e.st, "bob@example.test", "INBOX")
	got = parseStored(t, readMsg(t, e.st, bl[len(bl)-1]))
	if got.h.Get("Subject") != "draft two" || string(got.files["notes.txt"]) != "my notes" || strings.TrimSpace(got.text) != "more words" {
		t.Errorf("sent draft: %v %q %q", got.h.Get("Subject"), got.files, got.text)
	}
	// Discard.
	r = c.postMultipart("/mail/compose", url.Values{"action": {"save"}, "from": {"alice@example.test"}, "subject": {"to discard"}}, nil)
	r = c.follow(r)
	c.postMultipart("/mail/compose", url.Values{"action": {"discard"}, "draft": {field(r.body, "draft")}}, nil)
	if n := len(messages(t, e.st, "alice@example.test", "Drafts")); n != 0 {
		t.Errorf("discarded draft stays")
	}
	// A draft reference to a message outside Drafts is never deleted.
	c.postMultipart("/mail/compose", url.Values{"action": {"discard"}, "draft": {ref}}, nil)
	if n := len(messages(t, e.st, "alice@example.test", "INBOX")); n != 1 {
		t.Error("discard deleted a message outside Drafts")
	}
}

// TestMailtoLink: mailto: links in mail open the compose page filled in.
func TestMailtoLink(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	r := c.get("/mail/compose?to=" + url.QueryEscape("carol@example.test") + "&subject=Hello%20there&body=Hi")
	if !strings.Contains(r.body, `value="carol@example.test"`) || !strings.Contains(r.body, `value="Hello there"`) || !strings.Contains(r.body, ">Hi</textarea>") {
		t.Errorf("compose from mailto:\n%s", r.body)
	}
	_ = testenv.Password
}
