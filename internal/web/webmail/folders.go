package webmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"mailhouse/internal/store"
)

// folder is one mailbox as the folder list shows it.
type folder struct {
	ID      store.MailboxID
	Name    string // full name, "/"-separated
	Label   string // what the user reads
	Depth   int
	Special string // RFC 6154 attribute, or "inbox"
	Kind    string // icon and CSS name: inbox, drafts, sent, archive, junk, trash, folder
	Unseen  int
	Total   int
	URL     string
	Current bool
}

// specialOrder is where a special folder comes in the list, after
// INBOX; ok is false for other folders.
func specialOrder(special string) (n int, ok bool) {
	switch special {
	case "inbox":
		return 0, true
	case store.SpecialDrafts:
		return 1, true
	case store.SpecialSent:
		return 2, true
	case store.SpecialArchive:
		return 3, true
	case store.SpecialJunk:
		return 4, true
	case store.SpecialTrash:
		return 5, true
	case store.SpecialFlagged:
		return 6, true
	case store.SpecialAll:
		return 7, true
	}
	return 0, false
}

// folderLabel is the name shown for a mailbox.
func folderLabel(mb store.Mailbox) string {
	if strings.EqualFold(mb.Name, "INBOX") {
		return "Inbox"
	}
	if i := strings.LastIndexByte(mb.Name, '/'); i >= 0 {
		return mb.Name[i+1:]
	}
	return mb.Name
}

func folderKind(special string) string {
	switch special {
	case "inbox":
		return "inbox"
	case store.SpecialDrafts:
		return "drafts"
	case store.SpecialSent:
		return "sent"
	case store.SpecialArchive:
		return "archive"
	case store.SpecialJunk:
		return "junk"
	case store.SpecialTrash:
		return "trash"
	case store.SpecialFlagged:
		return "star"
	}
	return "folder"
}

func specialOf(mb store.Mailbox) string {
	if strings.EqualFold(mb.Name, "INBOX") {
		return "inbox"
	}
	return mb.SpecialUse
}

// folders lists the account's mailboxes with their counts, special
// folders first, the others by name with their hierarchy.
func (wm *Webmail) folders(ctx context.Context, acct store.AccountID, current store.MailboxID) ([]folder, error) {
	mbs, err := wm.o.Store.ListMailboxes(ctx, acct)
	if err != nil {
		return nil, err
	}
	out := make([]folder, 0, len(mbs))
	for _, mb := range mbs {
		st, err := wm.o.Store.MailboxStatus(ctx, mb.ID)
		if err != nil {
			return nil, err
		}
		f := folder{ID: mb.ID, Name: mb.Name, Label: folderLabel(mb), Special: specialOf(mb),
			Unseen: st.Unseen, Total: st.Messages, URL: wm.folderURL(mb.ID, listQuery{}), Current: mb.ID == current}
		if _, top := specialOrder(f.Special); !top {
			f.Depth = min(strings.Count(mb.Name, "/"), 4)
		}
		f.Kind = folderKind(f.Special)
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, ti := specialOrder(out[i].Special)
		oj, tj := specialOrder(out[j].Special)
		switch {
		case ti && tj:
			return oi < oj
		case ti != tj:
			return ti
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// errNoMailbox: the mailbox does not exist or is not the user's.
var errNoMailbox = errors.New("no such folder")

// mailbox returns the user's mailbox named by a path value (its ID).
func (wm *Webmail) mailbox(ctx context.Context, q *request, id string) (store.Mailbox, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return store.Mailbox{}, errNoMailbox
	}
	mb, err := wm.o.Store.GetMailboxByID(ctx, store.MailboxID(n))
	if errors.Is(err, store.ErrNotFound) || (err == nil && mb.Account != q.acct.ID) {
		return store.Mailbox{}, errNoMailbox
	}
	return mb, err
}

// specialFolder finds the user's mailbox with a special use (or the
// usual name), creating it if an IMAP client deleted it.
func (wm *Webmail) specialFolder(ctx context.Context, acct store.AccountID, use string) (store.Mailbox, error) {
	mbs, err := wm.o.Store.ListMailboxes(ctx, acct)
	if err != nil {
		return store.Mailbox{}, err
	}
	name := ""
	for _, d := range store.DefaultMailboxes {
		if d.SpecialUse == use {
			name = d.Name
		}
	}
	var byName *store.Mailbox
	for i, mb := range mbs {
		if mb.SpecialUse == use {
			return mb, nil
		}
		if name != "" && strings.EqualFold(mb.Name, name) {
			byName = &mbs[i]
		}
	}
	if byName != nil {
		return *byName, nil
	}
	if name == "" {
		return store.Mailbox{}, fmt.Errorf("no %s folder", use)
	}
	mb, err := wm.o.Store.CreateMailbox(ctx, acct, name, use)
	if errors.Is(err, store.ErrExists) {
		return wm.o.Store.GetMailbox(ctx, acct, name)
	}
	return mb, err
}

// folderPage is the folder list on its own (the phone layout's menu).
func (wm *Webmail) folderPage(w http.ResponseWriter, r *http.Request, q *request) {
	fs, err := wm.folders(r.Context(), q.acct.ID, 0)
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	wm.render(w, r, http.StatusOK, "folders", &page{Title: "Folders", View: "folders", Folders: fs, q: q})
}
