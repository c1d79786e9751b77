package imapd

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// maxNameLength bounds a mailbox name in bytes.
const maxNameLength = 1000

// mailboxName turns a client's mailbox argument into the store's UTF-8
// name: modified UTF-7 is decoded unless UTF-8 names are enabled
// (accepting raw UTF-8 anyway, as clients send it), "INBOX" is
// case-insensitive (RFC 9051 §5.1) and a trailing "/" is dropped.
func (s *session) mailboxName(arg string) (string, error) {
	name := arg
	if !s.utf8Names() {
		dec, err := imapwire.DecodeUTF7(arg)
		switch {
		case err == nil:
			name = dec
		case utf8.ValidString(arg) && !strings.Contains(arg, "&"):
			name = arg
		default:
			return "", bad("mailbox name is not valid modified UTF-7")
		}
	}
	return normalizeName(name)
}

func normalizeName(name string) (string, error) {
	name = strings.TrimSuffix(name, "/")
	if name == "" || len(name) > maxNameLength || strings.HasPrefix(name, "/") || strings.Contains(name, "//") {
		return "", no("CANNOT", "invalid mailbox name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return "", no("CANNOT", "invalid mailbox name")
		}
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if len(name) > 6 && strings.EqualFold(name[:6], "INBOX/") {
		return "INBOX/" + name[6:], nil
	}
	return name, nil
}

// appendName appends a mailbox name as the client expects it.
func (s *session) appendName(b []byte, name string) []byte {
	if !s.utf8Names() {
		name = imapwire.EncodeUTF7(name)
	}
	return imapwire.AppendString(b, name, s.utf8Names())
}

func (s *session) getMailbox(name string) (store.Mailbox, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	mb, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, name)
	if err != nil {
		return mb, s.storeError(err, "mailbox")
	}
	return mb, nil
}

func (s *session) cmdCreate(c *imapwire.Command) error {
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return no("ALREADYEXISTS", "INBOX always exists")
	}
	if strings.ContainsAny(name, "*%") {
		return no("CANNOT", "mailbox names cannot hold * or %%")
	}
	use := ""
	switch len(c.CreateUse) {
	case 0:
	case 1:
		use = c.CreateUse[0]
		switch use {
		case store.SpecialArchive, store.SpecialDrafts, store.SpecialJunk, store.SpecialSent, store.SpecialTrash:
		default:
			// RFC 6154 §3: USEATTR for attributes we cannot give.
			return no("USEATTR", "unsupported special-use attribute %s", use)
		}
	default:
		return no("USEATTR", "one special-use attribute per mailbox")
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// RFC 9051 §6.3.4: create missing superior names.
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if _, err := s.srv.o.Store.CreateMailbox(ctx, s.account.ID, parent, ""); err != nil && !isExists(err) {
			return s.storeError(err, "CREATE")
		}
	}
	if _, err := s.srv.o.Store.CreateMailbox(ctx, s.account.ID, name, use); err != nil {
		return s.storeError(err, "CREATE")
	}
	return nil
}

func (s *session) cmdDelete(c *imapwire.Command) error {
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return no("CANNOT", "INBOX cannot be deleted")
	}
	ctx, cancel := s.ctx()
	defer cancel()
	mbs, err := s.srv.o.Store.ListMailboxes(ctx, s.account.ID)
	if err != nil {
		return s.storeError(err, "DELETE")
	}
	var target *store.Mailbox
	for i := range mbs {
		if mbs[i].Name == name {
			target = &mbs[i]
		}
		if strings.HasPrefix(mbs[i].Name, name+"/") {
			// RFC 9051 §6.3.5 would keep the children under a \Noselect
			// name; we have no such names, so refuse as mox does.
			return no("HASCHILDREN", "mailbox has children; delete them first")
		}
	}
	if target == nil {
		return no("NONEXISTENT", "no such mailbox")
	}
	if err := s.srv.o.Store.DeleteMailbox(ctx, s.account.ID, name); err != nil {
		return s.storeError(err, "DELETE")
	}
	if s.sel != nil && s.sel.mb.ID == target.ID {
		s.unselect()
		s.writeString("* OK [CLOSED] selected mailbox deleted\r\n")
	}
	return nil
}

func (s *session) cmdRename(c *imapwire.Command) error {
	from, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	to, err := s.mailboxName(c.Dest)
	if err != nil {
		return err
	}
	if to == "INBOX" {
		return no("ALREADYEXISTS", "INBOX exists")
	}
	if strings.ContainsAny(to, "*%") {
		return no("CANNOT", "mailbox names cannot hold * or %%")
	}
	if from == to || strings.HasPrefix(to, from+"/") {
		return no("CANNOT", "cannot rename a mailbox into itself")
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, from); err != nil {
		return s.storeError(err, "RENAME")
	}
	if _, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, to); err == nil {
		return no("ALREADYEXISTS", "target mailbox exists")
	}
	parts := strings.Split(to, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if _, err := s.srv.o.Store.CreateMailbox(ctx, s.account.ID, parent, ""); err != nil && !isExists(err) {
			return s.storeError(err, "RENAME")
		}
	}
	// RFC 9051 §6.3.6: renaming INBOX moves its messages to the new
	// mailbox and leaves INBOX empty; the store does that.
	if err := s.srv.o.Store.RenameMailbox(ctx, s.account.ID, from, to); err != nil {
		return s.storeError(err, "RENAME")
	}
	return nil
}

func (s *session) cmdSubscribe(c *imapwire.Command) error {
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.o.Store.SetSubscribed(ctx, s.account.ID, name, c.Name == "SUBSCRIBE"); err != nil {
		return s.storeError(err, c.Name)
	}
	return nil
}

// statusItems checks STATUS item names (RFC 9051 §6.3.11, RFC 8438
// SIZE, RFC 7162 HIGHESTMODSEQ, RFC 9208 DELETED-STORAGE).
func statusItems(items []string) error {
	for _, it := range items {
		switch it {
		case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "DELETED-STORAGE":
		default:
			return bad("unknown STATUS item %s", it)
		}
	}
	return nil
}

func (s *session) cmdStatus(c *imapwire.Command) error {
	if err := statusItems(c.StatusItems); err != nil {
		return err
	}
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	mb, err := s.getMailbox(name)
	if err != nil {
		return err
	}
	return s.writeStatus(mb, c.StatusItems)
}

// writeStatus writes one STATUS response.
func (s *session) writeStatus(mb store.Mailbox, items []string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	st, err := s.srv.o.Store.MailboxStatus(ctx, mb.ID)
	if err != nil {
		return s.storeError(err, "STATUS")
	}
	if slices.Contains(items, "HIGHESTMODSEQ") {
		s.enableCondstore() // RFC 7162 §3.1
	}
	var deleted int
	var deletedSize int64
	if slices.Contains(items, "DELETED") || slices.Contains(items, "DELETED-STORAGE") {
		uids, err := s.srv.sync.DeletedUIDs(ctx, mb.ID)
		if err != nil {
			return s.storeError(err, "STATUS")
		}
		deleted = len(uids)
		if len(uids) > 0 && slices.Contains(items, "DELETED-STORAGE") {
			msgs, err := s.srv.sync.ListMessagesRange(ctx, mb.ID, uids[0], uids[len(uids)-1])
			if err != nil {
				return s.storeError(err, "STATUS")
			}
			for _, m := range msgs {
				if _, ok := slices.BinarySearch(uids, m.UID); ok {
					deletedSize += m.Size
				}
			}
		}
	}
	b := append(make([]byte, 0, 128), "* STATUS "...)
	b = s.appendName(b, mb.Name)
	b = append(b, " ("...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, it...)
		b = append(b, ' ')
		var n uint64
		switch it {
		case "MESSAGES":
			n = uint64(st.Messages)
		case "UIDNEXT":
			n = uint64(st.UIDNext)
		case "UIDVALIDITY":
			n = uint64(st.UIDValidity)
		case "UNSEEN":
			n = uint64(st.Unseen)
		case "DELETED":
			n = uint64(deleted)
		case "DELETED-STORAGE":
			n = uint64(deletedSize / 1024) // RFC 9208: in units of 1024 octets, as STORAGE
		case "SIZE":
			n = uint64(st.Size)
		case "HIGHESTMODSEQ":
			n = uint64(st.HighestModSeq)
		case "APPENDLIMIT":
			n = uint64(s.srv.o.Config.MaxLiteralBytes) // RFC 7889 §3
		}
		b = appendUint(b, n)
	}
	b = append(b, ")\r\n"...)
	s.writeBytes(b)
	return nil
}

func isExists(err error) bool { return errors.Is(err, store.ErrExists) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func appendUint(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
