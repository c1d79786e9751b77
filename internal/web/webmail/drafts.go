package webmail

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"mailhouse/internal/store"
)

// describeKept fills in the names and sizes of carried-over parts.
func (wm *Webmail) describeKept(ctx context.Context, q *request, keep []keptPart) []keptPart {
	var out []keptPart
	for _, k := range keep {
		f, err := wm.keptFile(ctx, q, k.Ref)
		if err != nil {
			continue
		}
		out = append(out, keptPart{Ref: k.Ref, Name: f.Name, Size: int64(len(f.Data)), Checked: true})
	}
	return out
}

// keptFile reads a part named "mb:uid:section" of one of the user's
// messages.
func (wm *Webmail) keptFile(ctx context.Context, q *request, ref string) (file, error) {
	mbID, uid, sec, ok := parsePartRef(ref)
	if !ok {
		return file{}, errNoPart
	}
	l, err := wm.load(ctx, q, mbID, uid)
	if err != nil {
		return file{}, err
	}
	p, err := l.partOf(sec)
	if err != nil || p.IsMultipart() {
		return file{}, errNoPart
	}
	if p.Envelope != nil || (p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")) {
		data, err := p.Decoded(l.msg)
		if err != nil {
			data = p.Body(l.msg)
		}
		return file{Name: attachmentName(p), Type: "message/rfc822", Data: data, isMsg: true}, nil
	}
	data, err := p.Decoded(l.msg)
	if err != nil {
		data = p.Body(l.msg)
	}
	typ := mime.FormatMediaType(p.Type+"/"+p.Subtype, nil)
	if typ == "" {
		typ = "application/octet-stream"
	}
	return file{Name: attachmentName(p), Type: typ, Data: data}, nil
}

// saveDraft stores the form as a draft in Drafts (replacing the draft
// being edited) and returns its reference.
func (wm *Webmail) saveDraft(ctx context.Context, q *request, r *http.Request, d *composeData) (string, error) {
	o, err := wm.outgoing(ctx, q, r, d, true)
	if err != nil {
		return "", err
	}
	data, err := buildMessage(o, true)
	if err != nil {
		return "", err
	}
	if int64(len(data)) > wm.o.SMTP.MaxMessageBytes {
		return "", userError(fmt.Sprintf("The message is too large (%s; at most %s).", humanSize(int64(len(data))), humanSize(wm.o.SMTP.MaxMessageBytes)))
	}
	ctx, cancel := detach(ctx, time.Minute)
	defer cancel()
	mb, err := wm.specialFolder(ctx, q.acct.ID, store.SpecialDrafts)
	if err != nil {
		return "", err
	}
	got, err := wm.o.Deliverer.Append(ctx, mb.ID, []string{store.FlagDraft, store.FlagSeen}, wm.o.Now(), data)
	if err != nil {
		return "", err
	}
	if d.Draft != "" {
		if err := wm.deleteDraft(ctx, q, d.Draft); err != nil {
			q.log.Error("webmail: removing the previous draft", "err", err)
		}
	}
	q.log.Info("webmail: draft saved", "size", len(data))
	return msgRef(mb.ID, got.UID), nil
}

// deleteDraft expunges a draft, if the reference names a message in the
// user's Drafts folder (never anything else).
func (wm *Webmail) deleteDraft(ctx context.Context, q *request, ref string) error {
	mbID, uidStr, ok := strings.Cut(ref, ":")
	if !ok {
		return nil
	}
	mb, err := wm.mailbox(ctx, q, mbID)
	if err != nil || mb.SpecialUse != store.SpecialDrafts {
		return nil
	}
	uid, err := parseUID(uidStr)
	if err != nil {
		return nil
	}
	_, err = wm.o.Store.Expunge(ctx, mb.ID, []store.UID{uid})
	return err
}
