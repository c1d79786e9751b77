package pop3d

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mailhouse/internal/store"
)

// maildrop is a session's snapshot of the INBOX, taken at login (RFC 1939
// §5: message numbers hold for the whole session).
type maildrop struct {
	mailbox store.Mailbox
	msgs    []dropMsg // by message number - 1, ascending UID
}

type dropMsg struct {
	uid    store.UID
	stored int64 // bytes as stored; the fallback size of a vanished message
	// size is the octet count of the POP3 view (see popSize); -1 until
	// known.
	size    int64
	deleted bool
}

// openMaildrop snapshots an account's INBOX.
func (srv *Server) openMaildrop(ctx context.Context, acct store.Account) (*maildrop, error) {
	mb, err := srv.o.Store.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("INBOX of %s: %w", acct.Address, err)
	}
	metas, err := srv.o.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		return nil, fmt.Errorf("listing INBOX of %s: %w", acct.Address, err)
	}
	d := &maildrop{mailbox: mb, msgs: make([]dropMsg, len(metas))}
	for i, m := range metas {
		d.msgs[i] = dropMsg{uid: m.UID, stored: m.Size, size: -1}
		if n, ok := srv.sizes.get(d.key(m.UID)); ok {
			d.msgs[i].size = n
		}
	}
	return d, nil
}

// uidl is a message's unique-id (RFC 1939 §7): the mailbox's UIDVALIDITY
// and the UID, which together name one message forever, so a client
// that leaves mail on the server never fetches one twice.
func (d *maildrop) uidl(i int) string {
	return fmt.Sprintf("%08x%08x", d.mailbox.UIDValidity, uint32(d.msgs[i].uid))
}

func (d *maildrop) key(uid store.UID) sizeKey {
	return sizeKey{mailbox: d.mailbox.ID, validity: d.mailbox.UIDValidity, uid: uid}
}

// errVanished: a message of the snapshot was expunged by another client
// (IMAP) during the session.
var errVanished = errors.New("message was removed by another client")

// readMessage returns a message's stored bytes and records its POP3 size.
func (srv *Server) readMessage(ctx context.Context, d *maildrop, i int) ([]byte, error) {
	m := &d.msgs[i]
	data, err := srv.o.Store.ReadMessage(ctx, d.mailbox.ID, m.uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errVanished
	}
	if err != nil {
		return nil, err
	}
	if m.size < 0 {
		m.size = popSize(data)
		srv.sizes.put(d.key(m.uid), m.size)
	}
	return data, nil
}

// messageSize returns a message's POP3 size, reading it when not yet known.
func (srv *Server) messageSize(ctx context.Context, d *maildrop, i int) (int64, error) {
	m := &d.msgs[i]
	if m.size >= 0 {
		return m.size, nil
	}
	_, err := srv.readMessage(ctx, d, i)
	if errors.Is(err, errVanished) {
		// Still listed until the session ends; RETR will say it is gone.
		m.size = m.stored
		return m.size, nil
	}
	return m.size, err
}

// sizeKey names a message for ever: its mailbox, UIDVALIDITY and UID.
type sizeKey struct {
	mailbox  store.MailboxID
	validity uint32
	uid      store.UID
}

// sizeCache keeps computed POP3 sizes across sessions: messages never
// change, so an entry never goes stale. When full it is emptied.
type sizeCache struct {
	mu  sync.Mutex
	m   map[sizeKey]int64
	max int
}

func newSizeCache(max int) *sizeCache {
	return &sizeCache{m: map[sizeKey]int64{}, max: max}
}

func (c *sizeCache) get(k sizeKey) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	return n, ok
}

func (c *sizeCache) put(k sizeKey, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = n
}
