package webmail

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"mailhouse/internal/store"
)

// bulkAction applies one action to the selected messages of a folder:
// mark read or unread, flag or unflag, archive, move, delete (to Trash;
// in Trash for good). The form comes from the list or from a message
// page (one UID); back says where to return.
func (wm *Webmail) bulkAction(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	mb, err := wm.mailbox(ctx, q, r.PathValue("mb"))
	if err != nil {
		wm.fail(w, r, q, err)
		return
	}
	back := wm.safeNext(r.PostFormValue("back"))
	if back == "" {
		back = wm.folderURL(mb.ID, parseListQuery(r.URL.Query()))
	}
	var uids []store.UID
	for _, s := range r.PostForm["uid"] {
		if len(uids) == maxSelected {
			wm.flash(q, false, "At most %d messages can be changed at once.", maxSelected)
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		if u, err := parseUID(s); err == nil {
			uids = append(uids, u)
		}
	}
	action, to := r.PostFormValue("action"), r.PostFormValue("to")
	if mt := r.PostFormValue("move_to"); mt != "" { // a folder button of the move menu
		action, to = "move", mt
	}
	if len(uids) == 0 {
		wm.flash(q, false, "Select one or more messages first.")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	// After moving the message being read away, show the next one.
	after := r.PostFormValue("after")
	msg, err := wm.apply(ctx, q, mb, uids, action, to)
	if err != nil {
		if ue, ok := err.(userError); ok {
			wm.flash(q, false, "%s", string(ue))
		} else {
			q.log.Error("webmail: action failed", "action", action, "err", err)
			wm.flash(q, false, "The action failed on the server. Try again in a moment.")
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	q.log.Info("webmail: action", "action", action, "mailbox", mb.Name, "messages", len(uids))
	wm.flash(q, true, "%s", msg)
	switch action {
	case "delete", "archive", "move", "junk":
		if a := wm.safeNext(after); a != "" {
			back = a
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// userError is an error whose text is for the user.
type userError string

func (e userError) Error() string { return string(e) }

// apply performs an action and returns what to tell the user.
func (wm *Webmail) apply(ctx context.Context, q *request, mb store.Mailbox, uids []store.UID, action, to string) (string, error) {
	flags := func(op store.FlagOp, flag, done string) (string, error) {
		_, err := wm.o.Store.UpdateFlags(ctx, store.FlagUpdate{Mailbox: mb.ID, UIDs: uids, Op: op, Flags: []string{flag}})
		return fmt.Sprintf("%s %s.", plural(len(uids), "message"), done), err
	}
	switch action {
	case "read":
		return flags(store.FlagsAdd, store.FlagSeen, "marked as read")
	case "unread":
		return flags(store.FlagsRemove, store.FlagSeen, "marked as unread")
	case "flag":
		return flags(store.FlagsAdd, store.FlagFlagged, "flagged")
	case "unflag":
		return flags(store.FlagsRemove, store.FlagFlagged, "unflagged")
	case "archive":
		return wm.moveTo(ctx, q, mb, uids, store.SpecialArchive)
	case "junk":
		return wm.moveTo(ctx, q, mb, uids, store.SpecialJunk)
	case "delete":
		if mb.SpecialUse == store.SpecialTrash {
			gone, err := wm.o.Store.Expunge(ctx, mb.ID, uids)
			return fmt.Sprintf("%s deleted for good.", plural(len(gone), "message")), err
		}
		return wm.moveTo(ctx, q, mb, uids, store.SpecialTrash)
	case "move":
		dst, err := wm.mailbox(ctx, q, to)
		if err != nil {
			return "", userError("Choose a folder to move to.")
		}
		return wm.move(ctx, mb, uids, dst)
	}
	return "", userError("Unknown action.")
}

func (wm *Webmail) moveTo(ctx context.Context, q *request, mb store.Mailbox, uids []store.UID, use string) (string, error) {
	dst, err := wm.specialFolder(ctx, q.acct.ID, use)
	if err != nil {
		return "", err
	}
	return wm.move(ctx, mb, uids, dst)
}

func (wm *Webmail) move(ctx context.Context, mb store.Mailbox, uids []store.UID, dst store.Mailbox) (string, error) {
	if dst.ID == mb.ID {
		return "", userError("The messages are in " + folderLabel(dst) + " already.")
	}
	src, _, err := wm.o.Store.Move(ctx, mb.ID, uids, dst.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s moved to %s.", plural(len(src), "message"), folderLabel(dst)), nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
