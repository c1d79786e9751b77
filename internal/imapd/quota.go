package imapd

import (
	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// QUOTA (RFC 9208). Each account is one quota root, named "" as in the
// RFC's examples, covering all its mailboxes. Its resources are STORAGE
// (§5.1: the sum of RFC822.SIZE, in units of 1024 octets), limited by
// Account.QuotaBytes or else the server's default, and MESSAGE (§5.2:
// the number of messages) by the store's per-account message limit: the
// limits delivery enforces (delivery.Deliverer.Quota). Only limited
// resources are listed; an account without limits has no quota root. A
// domain's total (store.Limits) is enforced, with OVERQUOTA, but not
// shown as a root of its own. Limits are set by administrators, never
// over IMAP: SETQUOTA is refused and QUOTASET is not announced.
//
// Limits are checked before APPEND (by the deliverer) and COPY from the
// usage the store reports; two sessions of one account writing at the
// same moment may together go over by one command's worth.

// quotaRoot is the name of an account's only quota root.
const quotaRoot = ""

// quotaResources appends the limited resources of q, as in a QUOTA
// response: "STORAGE 10 512 MESSAGE 3 1000". It returns b unchanged when
// nothing is limited.
func quotaResources(b []byte, q store.Quota) []byte {
	first := true
	add := func(name string, usage, limit int64) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, name...)
		b = append(b, ' ')
		b = appendUint(b, uint64(max(usage, 0)))
		b = append(b, ' ')
		b = appendUint(b, uint64(max(limit, 0)))
	}
	if q.LimitBytes > 0 {
		add("STORAGE", q.Usage.Bytes/1024, q.LimitBytes/1024)
	}
	if q.LimitMessages > 0 {
		add("MESSAGE", int64(q.Usage.Messages), q.LimitMessages)
	}
	return b
}

func limited(q store.Quota) bool { return q.LimitBytes > 0 || q.LimitMessages > 0 }

func (s *session) quota() (store.Quota, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	q, err := s.srv.o.Deliverer.Quota(ctx, s.account.ID)
	if err != nil {
		return q, s.storeError(err, "QUOTA")
	}
	return q, nil
}

// writeQuota writes "* QUOTA "" (...)" (RFC 9208 §4.2.1).
func (s *session) writeQuota(q store.Quota) {
	b := append(make([]byte, 0, 64), "* QUOTA "...)
	b = imapwire.AppendString(b, quotaRoot, false)
	b = append(b, " ("...)
	b = quotaResources(b, q)
	s.writeBytes(append(b, ")\r\n"...))
}

// cmdGetQuotaRoot serves GETQUOTAROOT (RFC 9208 §4.1.2).
func (s *session) cmdGetQuotaRoot(c *imapwire.Command) error {
	name, err := s.mailboxName(c.Mailbox)
	if err != nil {
		return err
	}
	if _, err := s.getMailbox(name); err != nil {
		return err
	}
	q, err := s.quota()
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 64), "* QUOTAROOT "...)
	b = s.appendName(b, name)
	if limited(q) {
		b = append(b, ' ')
		b = imapwire.AppendString(b, quotaRoot, false)
	}
	s.writeBytes(append(b, "\r\n"...))
	if limited(q) {
		s.writeQuota(q)
	}
	return nil
}

// cmdGetQuota serves GETQUOTA (RFC 9208 §4.1.1).
func (s *session) cmdGetQuota(c *imapwire.Command) error {
	if c.QuotaRoot != quotaRoot {
		return no("NONEXISTENT", "no such quota root")
	}
	q, err := s.quota()
	if err != nil {
		return err
	}
	if !limited(q) {
		return no("NONEXISTENT", "no quota: nothing is limited")
	}
	s.writeQuota(q)
	return nil
}

// cmdSetQuota refuses SETQUOTA (RFC 9208 §4.1.3): limits are for the
// administrator to set.
func (s *session) cmdSetQuota(c *imapwire.Command) error {
	return no("NOPERM", "quotas are set by the administrator")
}

// checkQuota returns NO [OVERQUOTA] when adding messages of the given
// total size would exceed the account's or its domain's limits (RFC 9208
// §4.3.1).
func (s *session) checkQuota(messages int, bytes int64) error {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.o.Deliverer.CheckQuota(ctx, s.account, messages, bytes); err != nil {
		return s.storeError(err, "quota")
	}
	return nil
}

// checkCopyQuota checks the quota for copying messages of the selected
// mailbox.
func (s *session) checkCopyQuota(uids []store.UID) error {
	metas, err := s.metas(uids)
	if err != nil {
		return s.storeError(err, "COPY")
	}
	var size int64
	n := 0
	for _, u := range uids {
		if m, ok := metas(u); ok {
			size += m.Size
			n++
		}
	}
	return s.checkQuota(n, size)
}
