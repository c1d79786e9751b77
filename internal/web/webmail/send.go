package webmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
	"mailhouse/internal/web"
)

// composePost handles the compose form's buttons: send, save the draft,
// attach the chosen files (saved in the draft), discard the draft.
func (wm *Webmail) composePost(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	d := formData(r)
	switch r.PostFormValue("action") {
	case "discard":
		if d.Draft != "" {
			if err := wm.deleteDraft(ctx, q, d.Draft); err != nil {
				q.log.Error("webmail: discarding draft", "err", err)
			}
		}
		wm.flash(q, true, "Draft discarded.")
		http.Redirect(w, r, wm.backOrInbox(ctx, q, d.Back), http.StatusSeeOther)
	case "save", "upload":
		ref, err := wm.saveDraft(ctx, q, r, d)
		if err != nil {
			wm.composeFailed(w, r, q, d, err)
			return
		}
		msg := "Draft saved."
		if r.PostFormValue("action") == "upload" {
			msg = "Attached. The message is saved in Drafts."
		}
		wm.flash(q, true, "%s", msg)
		u := wm.p + "/compose?mode=edit&m=" + ref
		if d.Back != "" {
			u = withParam(u, "back", d.Back)
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
	default:
		if err := wm.send(ctx, q, r, d); err != nil {
			wm.composeFailed(w, r, q, d, err)
			return
		}
		wm.flash(q, true, "Message sent.")
		http.Redirect(w, r, wm.backOrInbox(ctx, q, d.Back), http.StatusSeeOther)
	}
}

// formData reads the compose form as posted.
func formData(r *http.Request) *composeData {
	f := func(k string) string { return r.PostFormValue(k) }
	d := &composeData{
		Mode: f("mode"), From: f("from"), To: f("to"), Cc: f("cc"), Bcc: f("bcc"), Subject: f("subject"),
		Body: f("body"), InReplyTo: f("in_reply_to"), References: f("references"),
		Draft: f("draft"), Orig: f("orig"), Fwd: f("fwd"), FwdName: f("fwd_name"), Back: f("back"),
	}
	for _, ref := range r.PostForm["keep"] {
		d.Keep = append(d.Keep, keptPart{Ref: ref, Checked: true})
	}
	return d
}

// composeFailed shows the form again with what went wrong. Files just
// uploaded would be lost with the page, so they are kept in a draft
// first.
func (wm *Webmail) composeFailed(w http.ResponseWriter, r *http.Request, q *request, d *composeData, err error) {
	ctx := r.Context()
	var ue userError
	if !errors.As(err, &ue) {
		q.log.Error("webmail: compose failed", "err", err)
		ue = "The message could not be handled on the server. Try again in a moment."
	}
	d.Error = string(ue)
	status := http.StatusUnprocessableEntity
	if hasUploads(r) {
		if ref, derr := wm.saveDraft(ctx, q, r, d); derr == nil {
			d.Error += " Your message and its attachments are saved in Drafts."
			if l, lerr := wm.loadRef(ctx, q, ref); lerr == nil {
				d.Draft, d.Fwd, d.FwdName = ref, "", ""
				d.Keep = wm.attachmentsOf(l, true)
			}
		}
	} else {
		d.Keep = wm.describeKept(ctx, q, d.Keep)
	}
	d.ShowCc = d.Cc != "" || d.Bcc != ""
	wm.renderCompose(w, r, q, status, d)
}

func hasUploads(r *http.Request) bool {
	if r.MultipartForm == nil {
		return false
	}
	for _, fh := range r.MultipartForm.File["attach"] {
		if fh.Size > 0 || fh.Filename != "" {
			return true
		}
	}
	return false
}

// backOrInbox is where to go after sending: where the user came from,
// else the INBOX.
func (wm *Webmail) backOrInbox(ctx context.Context, q *request, back string) string {
	if b := wm.safeNext(back); b != "" && !strings.HasPrefix(b, wm.p+"/compose") {
		return b
	}
	if mb, err := wm.o.Store.GetMailbox(ctx, q.acct.ID, "INBOX"); err == nil {
		return wm.folderURL(mb.ID, listQuery{})
	}
	return wm.p + "/"
}

// send checks and sends the message through delivery, as submission
// does, keeps a copy in Sent, marks the original answered or forwarded
// and removes the draft.
func (wm *Webmail) send(ctx context.Context, q *request, r *http.Request, d *composeData) error {
	o, err := wm.outgoing(ctx, q, r, d, false)
	if err != nil {
		return err
	}
	// The same sender check as submission: the From address must be the
	// user's own, a plus address of it, or an alias that reaches them.
	ok, err := wm.o.Resolver.Owns(ctx, q.acct, o.From.Address)
	if err != nil {
		return err
	}
	if !ok {
		q.log.Warn("webmail: sender refused: not the user's address", "from", o.From.Address)
		return userError(fmt.Sprintf("You cannot send as %s: use your own address.", o.From.Address))
	}
	env, rcpts, err := wm.envelope(ctx, o)
	if err != nil {
		return err
	}
	data, err := buildMessage(o, false)
	if err != nil {
		return err
	}
	if int64(len(data)) > wm.o.SMTP.MaxMessageBytes {
		return userError(fmt.Sprintf("The message is too large (%s; at most %s).", humanSize(int64(len(data))), humanSize(wm.o.SMTP.MaxMessageBytes)))
	}
	id := netx.NewConnID()
	env.From = strings.ToLower(o.From.Address)
	if norm, err := directory.Normalize(o.From.Address); err == nil {
		env.From = norm
	}
	env.Data = append([]byte(receivedHeader(web.RemoteIP(r).String(), wm.o.Hostname, id, wm.o.Now())), data...)
	// Once the message is on its way, finish the job even if the browser
	// goes away.
	ctx, cancel := detach(ctx, time.Minute)
	defer cancel()
	res, err := wm.o.Deliverer.Deliver(ctx, env)
	if err != nil {
		q.log.Info("webmail: message refused", "tx", id, "from", env.From, "rcpts", len(rcpts), "size", len(data), "err", err)
		if errors.Is(err, delivery.ErrNoQueue) {
			return userError("Mail to other domains cannot be sent from this server yet (" + strings.Join(env.External, ", ") + "). Nothing was sent.")
		}
		return err
	}
	q.log.Info("webmail: message sent", "tx", id, "from", env.From, "rcpts", len(rcpts), "size", len(data),
		"local", len(res.Local), "queued", len(res.Queued))
	wm.contacts.add(q.acct.ID, append(append(append([]*mail.Address{}, o.To.list...), o.Cc.list...), o.Bcc.list...))

	// The copy in Sent has the Bcc line, so the user sees who got it.
	sent, err := buildMessage(o, true)
	if err == nil {
		var mb store.Mailbox
		if mb, err = wm.specialFolder(ctx, q.acct.ID, store.SpecialSent); err == nil {
			_, err = wm.o.Deliverer.Append(ctx, mb.ID, []string{store.FlagSeen}, wm.o.Now(), sent)
		}
	}
	if err != nil {
		q.log.Error("webmail: saving the Sent copy", "tx", id, "err", err)
	}
	wm.markOriginal(ctx, q, d)
	if d.Draft != "" {
		if err := wm.deleteDraft(ctx, q, d.Draft); err != nil {
			q.log.Error("webmail: removing the sent draft", "err", err)
		}
	}
	return nil
}

// envelope resolves the recipients as SMTP does at RCPT time: local
// addresses through the directory (unknown users refused), other domains
// as external recipients for the queue.
func (wm *Webmail) envelope(ctx context.Context, o *outgoing) (delivery.Envelope, []string, error) {
	var env delivery.Envelope
	var all []string
	seen := map[string]bool{}
	for _, f := range []addrField{o.To, o.Cc, o.Bcc} {
		for _, a := range f.list {
			norm, err := directory.Normalize(a.Address)
			if err != nil {
				return env, nil, userError("Not an address: " + a.Address)
			}
			if seen[norm] {
				continue
			}
			seen[norm] = true
			all = append(all, norm)
		}
	}
	if len(all) == 0 {
		return env, nil, userError("Add at least one recipient.")
	}
	if len(all) > wm.o.SMTP.MaxRecipients {
		return env, nil, userError(fmt.Sprintf("Too many recipients: at most %d.", wm.o.SMTP.MaxRecipients))
	}
	for _, addr := range all {
		res, err := wm.o.Deliverer.Resolve(ctx, addr)
		switch {
		case err == nil:
			env.Recipients = append(env.Recipients, res)
		case errors.Is(err, directory.ErrNotLocal):
			env.External = append(env.External, addr)
		case errors.Is(err, directory.ErrUnknownUser):
			return env, nil, userError("There is no mailbox " + addr + " here.")
		case errors.Is(err, delivery.ErrNoQueue):
			return env, nil, userError(addr + " forwards to another domain, and mail to other domains cannot be sent from this server yet. Nothing was sent.")
		case errors.Is(err, directory.ErrLoop), errors.Is(err, directory.ErrBadAddress):
			return env, nil, userError("Mail to " + addr + " cannot be delivered: its forwarding is misconfigured.")
		default:
			return env, nil, err
		}
	}
	return env, all, nil
}

// outgoing collects the message from the form: addresses, text and
// attachments (uploaded, carried over, forwarded). Drafts accept
// addresses that do not parse yet.
func (wm *Webmail) outgoing(ctx context.Context, q *request, r *http.Request, d *composeData, draft bool) (*outgoing, error) {
	o := &outgoing{
		To: newAddrField(d.To), Cc: newAddrField(d.Cc), Bcc: newAddrField(d.Bcc),
		Subject: d.Subject, Body: d.Body, InReplyTo: strings.TrimSpace(d.InReplyTo),
		References: strings.Fields(d.References), Date: wm.o.Now().In(wm.o.Location),
	}
	if len(o.References) > 50 {
		o.References = o.References[len(o.References)-50:]
	}
	from, bad := parseRecipients(d.From)
	switch {
	case len(from) == 1 && len(bad) == 0:
		o.From = from[0]
	case draft:
		o.fromFallback = d.From
	default:
		return nil, userError("The From field must hold one address of yours.")
	}
	if !draft {
		for _, f := range []addrField{o.To, o.Cc, o.Bcc} {
			if len(f.bad) > 0 {
				return nil, userError("Not an address: " + strings.Join(f.bad, ", "))
			}
		}
	}
	domain := wm.o.Hostname
	if o.From != nil {
		if _, dom, err := directory.Split(o.From.Address); err == nil {
			domain = dom
		}
	}
	o.MessageID = strings.ToLower(netx.NewConnID()) + "." + fmt.Sprint(wm.o.Now().UnixNano()) + "@" + domain
	var size int64
	addFile := func(f file) error {
		size += int64(len(f.Data))
		if size > wm.o.SMTP.MaxMessageBytes {
			return userError(fmt.Sprintf("The attachments are too large: at most %s in all.", humanSize(wm.o.SMTP.MaxMessageBytes)))
		}
		o.Files = append(o.Files, f)
		return nil
	}
	for _, k := range d.Keep {
		f, err := wm.keptFile(ctx, q, k.Ref)
		if err != nil {
			continue // the draft or message went away meanwhile
		}
		if err := addFile(f); err != nil {
			return nil, err
		}
	}
	if d.Fwd != "" {
		l, err := wm.loadRef(ctx, q, d.Fwd)
		if err != nil {
			return nil, userError("The message to forward is gone.")
		}
		if err := addFile(file{Name: attachmentName(&message.Part{Envelope: &l.s.Envelope}), Type: "message/rfc822", Data: l.msg, isMsg: true}); err != nil {
			return nil, err
		}
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["attach"] {
			if fh.Filename == "" && fh.Size == 0 {
				continue // the empty file input of a form without files
			}
			f, err := fh.Open()
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(io.LimitReader(f, wm.o.SMTP.MaxMessageBytes+1))
			f.Close()
			if err != nil {
				return nil, err
			}
			name := cleanFilename(path.Base(strings.ReplaceAll(fh.Filename, `\`, "/")))
			if name == "" {
				name = "attachment"
			}
			typ := fh.Header.Get("Content-Type")
			if _, _, err := mime.ParseMediaType(typ); err != nil || typ == "" {
				typ = http.DetectContentType(data)
			}
			if err := addFile(file{Name: name, Type: typ, Data: data}); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// markOriginal flags the message replied to as answered, or a forwarded
// one with the $Forwarded keyword (as IMAP clients do).
func (wm *Webmail) markOriginal(ctx context.Context, q *request, d *composeData) {
	if d.Orig == "" {
		return
	}
	flag := store.FlagAnswered
	if d.Mode == "forward" || d.Mode == "attach" {
		flag = "$Forwarded"
	}
	mbID, uidStr, ok := strings.Cut(d.Orig, ":")
	if !ok {
		return
	}
	mb, err := wm.mailbox(ctx, q, mbID)
	if err != nil {
		return
	}
	uid, err := parseUID(uidStr)
	if err != nil {
		return
	}
	if _, err := wm.o.Store.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mb.ID, UIDs: []store.UID{uid}, Op: store.FlagsAdd, Flags: []string{flag}}); err != nil {
		q.log.Error("webmail: flagging the original", "err", err)
	}
}
