package webmail

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// listQuery is the state of a message list that links carry along: the
// page, the order and the search.
type listQuery struct {
	Page int  // 0-based
	Asc  bool // oldest first
	Q    string
}

func parseListQuery(v url.Values) listQuery {
	lq := listQuery{Asc: v.Get("sort") == "asc", Q: strings.TrimSpace(v.Get("q"))}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 0 && n < 1_000_000 {
		lq.Page = n - 1
	}
	if len(lq.Q) > maxQueryLength {
		lq.Q = lq.Q[:maxQueryLength]
	}
	return lq
}

// encode returns the query string ("" or "?...") of a list state.
func (lq listQuery) encode() string {
	v := url.Values{}
	if lq.Page > 0 {
		v.Set("page", strconv.Itoa(lq.Page+1))
	}
	if lq.Asc {
		v.Set("sort", "asc")
	}
	if lq.Q != "" {
		v.Set("q", lq.Q)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// row is one message in a list.
type row struct {
	UID       store.UID
	Who       string // sender (recipients in Sent and Drafts)
	WhoTitle  string
	Subject   string
	Snippet   string
	Date      time.Time
	Size      int64
	Seen      bool
	Flagged   bool
	Answered  bool
	Draft     bool
	Attach    bool
	URL       string
	Current   bool
	Forwarded bool
}

// listData is a folder's message list.
type listData struct {
	Folder    folder
	Rows      []row
	Query     listQuery
	From, To  int // 1-based range shown
	Total     int // messages in the folder (or -1 when searching)
	Matches   int
	Partial   bool // the search stopped at its limits
	Prev      string
	Next      string
	SortURL   string
	ClearURL  string
	Action    string // the form's action URL
	Moves     []folder
	InTrash   bool
	InArchive bool
	InDrafts  bool
	Search    bool
	CSRF      string
	Self      string // this list's URL
}

func (wm *Webmail) list(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	mb, err := wm.mailbox(ctx, q, r.PathValue("mb"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	lq := parseListQuery(r.URL.Query())
	p, err := wm.listPage(ctx, q, mb, lq, 0)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	p.View = "list"
	wm.render(w, r, http.StatusOK, "list", p)
}

// listPage builds the page of a folder with its list; current marks the
// message being read.
func (wm *Webmail) listPage(ctx context.Context, q *request, mb store.Mailbox, lq listQuery, current store.UID) (*page, error) {
	fs, err := wm.folders(ctx, q.acct.ID, mb.ID)
	if err != nil {
		return nil, err
	}
	var cur folder
	for _, f := range fs {
		if f.ID == mb.ID {
			cur = f
		}
	}
	d, err := wm.listData(ctx, mb, cur, lq, current)
	if err != nil {
		return nil, err
	}
	d.CSRF = q.sess.CSRF
	for _, f := range fs {
		if f.ID != mb.ID {
			d.Moves = append(d.Moves, f)
		}
	}
	title := cur.Label
	if lq.Q != "" {
		title = "Search: " + lq.Q
	}
	return &page{Title: title, Folders: fs, Current: &cur, Query: lq.Q, Data: d, q: q}, nil
}

func (wm *Webmail) listData(ctx context.Context, mb store.Mailbox, cur folder, lq listQuery, current store.UID) (*listData, error) {
	metas, err := wm.o.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	sortMetas(metas, lq.Asc)
	d := &listData{Folder: cur, Query: lq, Total: len(metas), Action: wm.folderURL(mb.ID, lq), Self: wm.folderURL(mb.ID, lq),
		InTrash: mb.SpecialUse == store.SpecialTrash, InArchive: mb.SpecialUse == store.SpecialArchive,
		InDrafts: mb.SpecialUse == store.SpecialDrafts}
	start := lq.Page * pageSize
	var shown []store.MessageMeta
	more := false
	if lq.Q != "" {
		d.Search = true
		res := wm.search(ctx, mb, metas, parseQuery(lq.Q), start+pageSize+1)
		d.Matches, d.Partial = len(res.metas), res.partial
		if len(res.metas) > start {
			shown = res.metas[start:min(len(res.metas), start+pageSize)]
		}
		more = len(res.metas) > start+pageSize
	} else {
		if start < len(metas) {
			shown = metas[start:min(len(metas), start+pageSize)]
		}
		more = start+pageSize < len(metas)
	}
	recipients := mb.SpecialUse == store.SpecialSent || mb.SpecialUse == store.SpecialDrafts
	for _, m := range shown {
		rw := wm.row(ctx, mb, m, recipients)
		rw.URL = wm.messageURL(mb.ID, m.UID, lq)
		if d.InDrafts {
			rw.URL = wm.p + "/compose?mode=edit&m=" + msgRef(mb.ID, m.UID)
		}
		rw.Current = m.UID == current
		d.Rows = append(d.Rows, rw)
	}
	d.From, d.To = start+1, start+len(shown)
	if lq.Page > 0 {
		prev := lq
		prev.Page--
		d.Prev = wm.folderURL(mb.ID, prev)
	}
	if more {
		next := lq
		next.Page++
		d.Next = wm.folderURL(mb.ID, next)
	}
	flip := listQuery{Asc: !lq.Asc, Q: lq.Q}
	d.SortURL = wm.folderURL(mb.ID, flip)
	d.ClearURL = wm.folderURL(mb.ID, listQuery{Asc: lq.Asc})
	return d, nil
}

// sortMetas orders messages by arrival, newest first unless asc; UIDs
// break ties (and follow arrival order anyway).
func sortMetas(metas []store.MessageMeta, asc bool) {
	slices.SortStableFunc(metas, func(a, b store.MessageMeta) int {
		c := a.InternalDate.Compare(b.InternalDate)
		if c == 0 {
			c = compareUID(a.UID, b.UID)
		}
		if asc {
			return c
		}
		return -c
	})
}

func compareUID(a, b store.UID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// row describes one message from its stored structure. A message whose
// structure is missing or unreadable still gets a row. What comes from
// the message's content is cached (a message never changes, only its
// flags do).
func (wm *Webmail) row(ctx context.Context, mb store.Mailbox, m store.MessageMeta, recipients bool) row {
	key := rowKey{mb.ID, mb.UIDValidity, m.UID, recipients}
	rw, ok := wm.rows.get(key)
	if !ok {
		rw = wm.rowContent(ctx, m, recipients)
		wm.rows.put(key, rw)
	}
	rw.UID, rw.Date, rw.Size = m.UID, m.InternalDate, m.Size
	for _, f := range m.Flags {
		switch f {
		case store.FlagSeen:
			rw.Seen = true
		case store.FlagFlagged:
			rw.Flagged = true
		case store.FlagAnswered:
			rw.Answered = true
		case store.FlagDraft:
			rw.Draft = true
		case "$Forwarded":
			rw.Forwarded = true
		}
	}
	return rw
}

// rowContent is the part of a row that comes from the message itself.
func (wm *Webmail) rowContent(ctx context.Context, m store.MessageMeta, recipients bool) row {
	var rw row
	s := wm.structure(ctx, m.Mailbox, m.UID)
	if s == nil {
		rw.Subject = "(unreadable message)"
		return rw
	}
	env := &s.Envelope
	rw.Subject = oneLine(env.SubjectDecoded)
	addrs := env.From
	if recipients {
		addrs = append(slices.Clip(env.To), env.Cc...)
	}
	rw.Who, rw.WhoTitle = whoLine(addrs)
	if recipients && rw.Who != "" {
		rw.Who = "To: " + rw.Who
	}
	rw.Attach = hasAttachments(s)
	if m.Size <= snippetMaxSize {
		if _, msg, err := wm.readBody(ctx, m); err == nil {
			rw.Snippet = oneLine(message.Text(msg, s, 240))
		}
	}
	return rw
}

// structure returns a message's stored structure, or nil.
func (wm *Webmail) structure(ctx context.Context, mb store.MailboxID, uid store.UID) *message.Structure {
	b, err := wm.o.Store.ReadParsed(ctx, mb, uid)
	if err != nil || len(b) == 0 {
		return nil
	}
	s, err := message.Unmarshal(b)
	if err != nil {
		return nil
	}
	return s
}

// whoLine names the first addresses of a list briefly, and all of them
// in full for a tooltip.
func whoLine(l []message.Address) (short, full string) {
	var names, all []string
	for _, a := range l {
		if a.Host == "" {
			continue // group markers
		}
		if len(names) < 3 {
			names = append(names, displayName(a))
		}
		if len(all) < 20 {
			all = append(all, formatAddress(a))
		}
	}
	return strings.Join(names, ", "), strings.Join(all, ", ")
}

// hasAttachments reports whether a message has parts shown as
// attachments.
func hasAttachments(s *message.Structure) bool {
	found := false
	s.Walk(func(_ []int, p *message.Part) bool {
		if p.Disposition == "attachment" || (p.Filename() != "" && p.Type != "text") {
			found = true
		}
		return !found
	})
	return found
}

// oneLine collapses white space and control characters.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029
	}), " ")
}

// rowCache keeps the content part of list rows. It is bounded; when it
// is full, a quarter of it is dropped.
type rowCache struct {
	mu sync.Mutex
	m  map[rowKey]row
}

type rowKey struct {
	mb          store.MailboxID
	uidValidity uint32
	uid         store.UID
	recipients  bool
}

// maxCachedRows bounds the row cache (a few hundred bytes a row).
const maxCachedRows = 20000

func newRowCache() *rowCache { return &rowCache{m: map[rowKey]row{}} }

func (c *rowCache) get(k rowKey) (row, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *rowCache) put(k rowKey, r row) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedRows {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= maxCachedRows/4 {
				break
			}
		}
	}
	c.m[k] = r
}
