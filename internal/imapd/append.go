package imapd

import (
	"strconv"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// cmdAppend serves APPEND (RFC 9051 §6.3.12) through the deliverer, which
// computes and stores the message's structure; APPENDUID (RFC 4315).
func (s *session) cmdAppend(c *imapwire.Command) error {
	ar := c.Append
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	if len(ar.Data) == 0 {
		return no("", "empty message")
	}
	if int64(len(ar.Data)) > s.srv.o.Config.MaxLiteralBytes {
		return no("TOOBIG", "message over the size limit")
	}
	flags, err := storeFlags(ar.Flags)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	mb, err := s.srv.o.Store.GetMailbox(ctx, s.account.ID, name)
	if err != nil {
		if isNotFound(err) {
			return no("TRYCREATE", "no such mailbox")
		}
		return s.storeError(err, "APPEND")
	}
	date := ar.Date
	if date.IsZero() {
		date = time.Now()
	}
	// The deliverer checks the quota: store.ErrOverQuota is NO
	// [OVERQUOTA] (RFC 9051 §7.1, RFC 9208 §4.3.1).
	d, err := s.srv.o.Deliverer.Append(ctx, mb.ID, flags, date, ar.Data)
	if err != nil {
		return s.storeError(err, "APPEND")
	}
	s.log.Info("append", "mailbox", mb.Name, "uid", d.UID, "size", len(ar.Data))
	if sel := s.sel; sel != nil && sel.mb.ID == mb.ID {
		// RFC 9051 §6.3.12: the selected session learns of it at once.
		if d.UID > sel.lastUID() && sel.foldOwn(d.ModSeq) {
			// Nothing else changed the mailbox meanwhile: the new message
			// is the only news.
			sel.uids = append(sel.uids, d.UID)
			s.writef("* %d EXISTS\r\n", len(sel.uids))
			if sel.metas != nil {
				// The cache must hold every message of the view.
				if ms, _, err := s.readMetas([]store.UID{d.UID}, true); err == nil && len(ms) == 1 {
					sel.learnt(ms)
				} else {
					sel.dropMetas()
				}
			}
		} else {
			sel.dirty = true // the sync after the command sends EXISTS
		}
	}
	return okCode("APPENDUID "+strconv.FormatUint(uint64(mb.UIDValidity), 10)+" "+strconv.FormatUint(uint64(d.UID), 10), "APPEND completed")
}
