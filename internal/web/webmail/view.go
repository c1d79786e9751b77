package webmail

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// errNoPart: the message has no such part.
var errNoPart = errors.New("no such part")

// msgView is a message as its page shows it.
type msgView struct {
	Mailbox     store.MailboxID
	UID         store.UID
	Subject     string
	Header      msgHeader
	Blocks      []block
	Attachments []attachment
	Remote      int  // remote images blocked (or shown)
	ImagesShown bool // the user allowed remote images
	ImagesURL   string
	Seen        bool
	Flagged     bool
	InTrash     bool
	InDrafts    bool
	Action      string
	Back        string // this page, for the action form to come back to
	ListURL     string
	ReplyURL    string
	ReplyAllURL string
	ForwardURL  string
	AttachURL   string
	EditURL     string
	RawURL      string
	SourceURL   string
	PrevURL     string
	NextURL     string
	Moves       []folder
	CSRF        string
}

// msgHeader is the header block of a message (or an enclosed one).
type msgHeader struct {
	Subject          string
	From, To, Cc, RT []addrView
	Date             time.Time
}

type addrView struct {
	Name, Addr, Compose string
}

// block is one readable part of a message.
type block struct {
	Kind      string // "text", "html", "image", "message", "note"
	HTML      template.HTML
	Frame     string
	Image     string
	Alt       string
	Header    *msgHeader
	Truncated bool
	cid       string
}

// attachment is a part offered for download.
type attachment struct {
	Name, Type string
	Size       int64
	View       string // inline view URL ("" when it can only be downloaded)
	Download   string
	Image      bool
	cid        string
}

// read shows one message (and marks it seen, as an IMAP client does on
// opening it).
func (wm *Webmail) read(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	mb, err := wm.mailbox(ctx, q, r.PathValue("mb"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	uid, err := parseUID(r.PathValue("uid"))
	if err != nil {
		wm.notFound(w, r, q)
		return
	}
	meta, err := wm.o.Store.GetMessage(ctx, mb.ID, uid)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	if !hasFlag(meta.Flags, store.FlagSeen) {
		if _, err := wm.o.Store.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mb.ID, UIDs: []store.UID{uid}, Op: store.FlagsAdd, Flags: []string{store.FlagSeen}}); err != nil {
			q.log.Error("webmail: marking seen", "err", err)
		} else {
			meta.Flags = append(meta.Flags, store.FlagSeen)
		}
	}
	lq := parseListQuery(r.URL.Query())
	allow := r.URL.Query().Get("images") == "1"
	p, err := wm.listPage(ctx, q, mb, lq, uid)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	v, err := wm.messageView(ctx, mb, meta, allow)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	ld := p.Data.(*listData)
	v.Moves = ld.Moves
	v.CSRF = q.sess.CSRF
	v.ListURL = wm.folderURL(mb.ID, lq)
	v.Back = wm.messageURL(mb.ID, uid, lq)
	v.Action = wm.folderURL(mb.ID, lq)
	if allow {
		v.ImagesURL = v.Back
	} else {
		v.ImagesURL = withParam(v.Back, "images", "1")
	}
	v.PrevURL, v.NextURL = wm.neighbours(ctx, mb.ID, uid, lq)
	// After sending a reply or forward, come back to this message.
	for _, u := range []*string{&v.ReplyURL, &v.ReplyAllURL, &v.ForwardURL, &v.AttachURL} {
		*u = withParam(*u, "back", v.Back)
	}
	p.Title = v.Subject
	p.View = "message"
	p.Data = &messagePage{List: ld, Msg: v}
	wm.render(w, r, http.StatusOK, "message", p)
}

// messagePage is the three-pane page: list and message.
type messagePage struct {
	List *listData
	Msg  *msgView
}

// messageView reads a message and lays it out.
func (wm *Webmail) messageView(ctx context.Context, mb store.Mailbox, meta store.MessageMeta, allowRemote bool) (*msgView, error) {
	_, msg, err := wm.readBody(ctx, meta)
	if err != nil {
		return nil, err
	}
	s := wm.structure(ctx, mb.ID, meta.UID)
	if s == nil {
		s = message.Parse(msg)
	}
	ref := mb.ID
	uid := meta.UID
	mref := msgRef(ref, uid)
	v := &msgView{
		Mailbox: mb.ID, UID: uid, Seen: hasFlag(meta.Flags, store.FlagSeen), Flagged: hasFlag(meta.Flags, store.FlagFlagged),
		InTrash: mb.SpecialUse == store.SpecialTrash, InDrafts: mb.SpecialUse == store.SpecialDrafts,
		ImagesShown: allowRemote,
		ReplyURL:    wm.p + "/compose?mode=reply&m=" + mref,
		ReplyAllURL: wm.p + "/compose?mode=all&m=" + mref,
		ForwardURL:  wm.p + "/compose?mode=forward&m=" + mref,
		AttachURL:   wm.p + "/compose?mode=attach&m=" + mref,
		EditURL:     wm.p + "/compose?mode=edit&m=" + mref,
		RawURL:      wm.messageURL(mb.ID, uid, listQuery{}) + "/raw?dl=1",
		SourceURL:   wm.messageURL(mb.ID, uid, listQuery{}) + "/raw",
	}
	v.Header = wm.header(&s.Envelope, s.Date)
	v.Subject = v.Header.Subject
	c := &collector{wm: wm, msg: msg, mb: mb.ID, uid: uid, allow: allowRemote, cids: cidMap(s, func(sec string) string {
		return wm.partURL(mb.ID, uid, "part", sec)
	})}
	c.message(&s.Root, nil, 0)
	c.finish()
	v.Blocks, v.Attachments, v.Remote = c.blocks, c.atts, c.remote
	if len(v.Blocks) == 0 {
		v.Blocks = append(v.Blocks, block{Kind: "note", HTML: "This message has no text."})
	}
	return v, nil
}

// header describes an envelope for display.
func (wm *Webmail) header(env *message.Envelope, date time.Time) msgHeader {
	h := msgHeader{Subject: oneLine(env.SubjectDecoded), Date: date}
	if h.Subject == "" {
		h.Subject = "(no subject)"
	}
	conv := func(l []message.Address) []addrView {
		var out []addrView
		for _, a := range realAddresses(l) {
			if len(out) == 100 {
				out = append(out, addrView{Name: "…"})
				break
			}
			addr := plainAddress(a)
			out = append(out, addrView{Name: strings.TrimSpace(oneLine(a.Name)), Addr: addr, Compose: wm.p + "/compose?to=" + url.QueryEscape(formatAddress(a))})
		}
		return out
	}
	h.From, h.To, h.Cc = conv(env.From), conv(env.To), conv(env.Cc)
	if len(env.ReplyTo) > 0 && addressText(env.ReplyTo) != addressText(env.From) {
		h.RT = conv(env.ReplyTo)
	}
	return h
}

// composeMailto turns a mailto: URL into a link to the compose page
// (RFC 6068: to, cc, subject and body may be given).
func (wm *Webmail) composeMailto(mailto string) string {
	u, err := url.Parse(mailto)
	if err != nil {
		return wm.p + "/compose"
	}
	v := url.Values{}
	to := u.Opaque
	if dec, err := url.PathUnescape(to); err == nil {
		to = dec
	}
	if to != "" {
		v.Set("to", to)
	}
	for _, k := range []string{"cc", "subject", "body"} {
		if x := u.Query().Get(k); x != "" {
			v.Set(k, x)
		}
	}
	if len(v) == 0 {
		return wm.p + "/compose"
	}
	return wm.p + "/compose?" + v.Encode()
}

// neighbours are the previous and next messages in the list's order
// (not for searches, which would need the search again).
func (wm *Webmail) neighbours(ctx context.Context, mb store.MailboxID, uid store.UID, lq listQuery) (prev, next string) {
	if lq.Q != "" {
		return "", ""
	}
	metas, err := wm.o.Store.ListMessages(ctx, mb)
	if err != nil {
		return "", ""
	}
	sortMetas(metas, lq.Asc)
	for i, m := range metas {
		if m.UID != uid {
			continue
		}
		if i > 0 {
			p := lq
			p.Page = (i - 1) / pageSize
			prev = wm.messageURL(mb, metas[i-1].UID, p)
		}
		if i+1 < len(metas) {
			n := lq
			n.Page = (i + 1) / pageSize
			next = wm.messageURL(mb, metas[i+1].UID, n)
		}
		break
	}
	return prev, next
}
