package webmail

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// composeData is the compose form.
type composeData struct {
	Mode                        string // "new", "reply", "all", "forward", "attach", "edit"
	From, To, Cc, Bcc           string
	Subject, Body               string
	InReplyTo, References       string
	Draft                       string // ref of the draft being edited ("mb:uid")
	Orig                        string // ref of the message replied to or forwarded
	Fwd                         string // ref of a message forwarded as an attachment
	FwdName                     string
	Keep                        []keptPart
	Error                       string
	Contacts                    []string // for the address fields' datalist
	MaxSize                     int64
	Action, Back, ContactsURL   string
	ShowCc                      bool
	Heading                     string
	DraftsURL, DiscardConfirmed string
}

// keptPart is an attachment carried over from another message (a draft
// being edited, or a message forwarded with its attachments).
type keptPart struct {
	Ref     string // "mb:uid:section"
	Name    string
	Size    int64
	Checked bool
}

// composeForm shows the form: empty, from a mailto: link (to, cc,
// subject, body), or prepared from a message (reply, reply to all,
// forward inline or as an attachment, edit a draft).
func (wm *Webmail) composeForm(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	v := r.URL.Query()
	d := &composeData{Mode: "new", From: q.acct.Address}
	for k, dst := range map[string]*string{"to": &d.To, "cc": &d.Cc, "subject": &d.Subject, "body": &d.Body} {
		if x := v.Get(k); x != "" && len(x) <= maxFormBytes {
			*dst = x
		}
	}
	if mode, ref := v.Get("mode"), v.Get("m"); ref != "" {
		l, err := wm.loadRef(ctx, q, ref)
		if err != nil {
			wm.fail(w, r, q, err)
			return
		}
		if err := wm.prefill(ctx, q, d, mode, l); err != nil {
			wm.fail(w, r, q, err)
			return
		}
	}
	d.ShowCc = d.ShowCc || d.Cc != "" || d.Bcc != ""
	wm.renderCompose(w, r, q, http.StatusOK, d)
}

func (wm *Webmail) renderCompose(w http.ResponseWriter, r *http.Request, q *request, status int, d *composeData) {
	ctx := r.Context()
	d.MaxSize = wm.o.SMTP.MaxMessageBytes
	d.Action = wm.p + "/compose"
	d.ContactsURL = wm.p + "/contacts"
	if d.Back == "" {
		d.Back = wm.safeNext(r.FormValue("back"))
	}
	for _, c := range wm.contacts.top(ctx, wm, q.acct.ID, maxDatalist) {
		d.Contacts = append(d.Contacts, c.Label())
	}
	switch d.Mode {
	case "reply", "all":
		d.Heading = "Reply"
	case "forward", "attach":
		d.Heading = "Forward"
	case "edit":
		d.Heading = "Draft"
	default:
		d.Heading = "New message"
	}
	fs, err := wm.folders(ctx, q.acct.ID, 0)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	title := d.Subject
	if title == "" {
		title = d.Heading
	}
	wm.render(w, r, status, "compose", &page{Title: title, View: "compose", Folders: fs, Data: d, q: q})
}

// loadRef loads a message named "mb:uid".
func (wm *Webmail) loadRef(ctx context.Context, q *request, ref string) (*loaded, error) {
	mb, uid, ok := strings.Cut(ref, ":")
	if !ok {
		return nil, errNoPart
	}
	return wm.load(ctx, q, mb, uid)
}

// prefill prepares the form from a message.
func (wm *Webmail) prefill(ctx context.Context, q *request, d *composeData, mode string, l *loaded) error {
	env := &l.s.Envelope
	ref := msgRef(l.mb.ID, l.uid)
	subject := oneLine(env.SubjectDecoded)
	switch mode {
	case "reply", "all":
		d.Mode, d.Orig = mode, ref
		d.Subject = prefixSubject("Re: ", subject)
		to := env.ReplyTo // defaults to From (RFC 9051 §7.5.2)
		if l.mb.SpecialUse == store.SpecialSent {
			to = env.To // a reply to one's own message goes to its recipients
		}
		to = realAddresses(to)
		var cc []message.Address
		if mode == "all" {
			seen := map[string]bool{}
			for _, a := range to {
				seen[strings.ToLower(plainAddress(a))] = true
			}
			for _, a := range realAddresses(append(append([]message.Address{}, env.To...), env.Cc...)) {
				k := strings.ToLower(plainAddress(a))
				if seen[k] || len(cc) >= wm.o.SMTP.MaxRecipients || wm.owns(ctx, q, k) {
					continue
				}
				seen[k] = true
				cc = append(cc, a)
			}
		}
		d.To, d.Cc = addressList(to), addressList(cc)
		d.From = wm.replyFrom(ctx, q, env)
		d.InReplyTo = env.MessageID
		d.References = strings.Join(references(l.s), " ")
		d.Body = "\n\n" + attribution(env, wm.fullDate(l.s.Date)) + "\n" + quote(message.Text(l.msg, l.s, maxQuoted))
	case "forward":
		d.Mode, d.Orig = mode, ref
		d.Subject = prefixSubject("Fwd: ", subject)
		d.Body = "\n\n" + forwardBlock(env, wm.fullDate(l.s.Date)) + "\n" + message.Text(l.msg, l.s, maxQuoted)
		d.Keep = wm.attachmentsOf(l, true)
	case "attach":
		d.Mode, d.Orig = mode, ref
		d.Subject = prefixSubject("Fwd: ", subject)
		d.Fwd = ref
		d.FwdName = attachmentName(&message.Part{Envelope: env})
	case "edit":
		d.Mode = "edit"
		hdr := l.s.Root.Header(l.msg)
		get := func(name string) string {
			v, _ := message.Get(hdr, name)
			return message.DecodeHeader(v)
		}
		d.From, d.To, d.Cc, d.Bcc = get("From"), get("To"), get("Cc"), get("Bcc")
		if d.From == "" {
			d.From = q.acct.Address
		}
		d.Subject = subject
		d.InReplyTo = strings.TrimSpace(get("In-Reply-To"))
		if v, ok := message.Get(hdr, "References"); ok {
			d.References = strings.Join(strings.Fields(v), " ")
		}
		d.Body = draftText(l)
		d.Keep = wm.attachmentsOf(l, true)
		if l.mb.SpecialUse == store.SpecialDrafts {
			d.Draft = ref
		}
	default:
		return errNoPart
	}
	return nil
}

// owns reports whether an address is one of the user's (their own, a
// plus address, or an alias that reaches them).
func (wm *Webmail) owns(ctx context.Context, q *request, addr string) bool {
	ok, err := wm.o.Resolver.Owns(ctx, q.acct, addr)
	return err == nil && ok
}

// replyFrom picks the From of a reply: the address of the user's that
// the message was sent to (an alias, a plus address), else their own.
func (wm *Webmail) replyFrom(ctx context.Context, q *request, env *message.Envelope) string {
	n := 0
	for _, a := range realAddresses(append(append([]message.Address{}, env.To...), env.Cc...)) {
		if n++; n > 50 {
			break
		}
		addr := strings.ToLower(plainAddress(a))
		if addr != q.acct.Address && wm.owns(ctx, q, addr) {
			return addr
		}
	}
	return q.acct.Address
}

// references is the References of a reply: the original's, then its
// Message-ID (RFC 5322 §3.6.4), at most the last 20.
func references(s *message.Structure) []string {
	refs := append([]string{}, s.References...)
	if id := strings.TrimSpace(s.Envelope.MessageID); id != "" {
		refs = append(refs, id)
	}
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	return refs
}

// prefixSubject adds "Re: " or "Fwd: " unless the subject has it.
func prefixSubject(prefix, s string) string {
	low := strings.ToLower(s)
	for _, p := range []string{strings.ToLower(prefix), "re:", "aw:", "sv:"} {
		if prefix == "Re: " && strings.HasPrefix(low, p) {
			return s
		}
	}
	if prefix == "Fwd: " && (strings.HasPrefix(low, "fwd:") || strings.HasPrefix(low, "fw:")) {
		return s
	}
	return prefix + s
}

// attribution is the line above a quoted reply.
func attribution(env *message.Envelope, date string) string {
	who := "someone"
	if l := realAddresses(env.From); len(l) > 0 {
		who = formatAddress(l[0])
	}
	if date == "" {
		return who + " wrote:"
	}
	return "On " + date + ", " + who + " wrote:"
}

// quote prefixes every line with "> " (RFC 3676 §4.5 style).
func quote(text string) string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n ")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ">") {
			lines[i] = ">" + l
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// forwardBlock is the header block of an inline forward.
func forwardBlock(env *message.Envelope, date string) string {
	var b strings.Builder
	b.WriteString("---------- Forwarded message ----------\n")
	line := func(k string, l []message.Address) {
		if l = realAddresses(l); len(l) > 0 {
			parts := make([]string, 0, len(l))
			for _, a := range l {
				parts = append(parts, formatAddress(a))
			}
			b.WriteString(k + ": " + strings.Join(parts, ", ") + "\n")
		}
	}
	line("From", env.From)
	if date != "" {
		b.WriteString("Date: " + date + "\n")
	}
	b.WriteString("Subject: " + oneLine(env.SubjectDecoded) + "\n")
	line("To", env.To)
	line("Cc", env.Cc)
	return b.String()
}

// draftText is the text of a draft's first plain-text part.
func draftText(l *loaded) string {
	var text string
	l.s.Walk(func(_ []int, p *message.Part) bool {
		if p.Type == "text" && p.Subtype == "plain" && p.Disposition != "attachment" {
			t, err := p.DecodedText(l.msg)
			if err == nil {
				text = strings.ReplaceAll(t, "\r\n", "\n")
			}
			return false
		}
		return true
	})
	return text
}

// attachmentsOf lists a message's attachments as parts to carry over:
// every leaf but the text that the body already holds, and enclosed
// messages as one part each.
func (wm *Webmail) attachmentsOf(l *loaded, checked bool) []keptPart {
	var out []keptPart
	var inside []int // the section of an enclosed message being skipped
	l.s.Walk(func(path []int, p *message.Part) bool {
		if path == nil || p.IsMultipart() {
			return true
		}
		if inside != nil && len(path) > len(inside) && slices.Equal(path[:len(inside)], inside) {
			return true
		}
		if p.Type == "text" && (p.Subtype == "plain" || p.Subtype == "html") && p.Disposition != "attachment" && p.Filename() == "" {
			return true
		}
		size := decodedSize(p)
		if p.Envelope != nil {
			inside, size = path, p.Size()
		}
		out = append(out, keptPart{Ref: msgRef(l.mb.ID, l.uid) + ":" + section(path), Name: attachmentName(p), Size: size, Checked: checked})
		return len(out) < 100
	})
	return out
}

// parsePartRef reads "mb:uid:section".
func parsePartRef(ref string) (mb, uid, sec string, ok bool) {
	parts := strings.SplitN(ref, ":", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	if _, err := strconv.ParseInt(parts[0], 10, 64); err != nil {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
