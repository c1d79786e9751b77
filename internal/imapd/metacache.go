package imapd

import (
	"slices"

	"mailhouse/internal/store"
)

// maxCachedMetas bounds the mailboxes whose messages' metadata a session
// keeps (about 100 bytes a message): a client that resynchronises,
// searches and fetches a mailbox of ordinary size then reads every
// message's flags, sizes and dates from the store once, not once per
// command. Larger mailboxes are read from the store each time.
const maxCachedMetas = 2000

// metaCache is the metadata of every message of the selected mailbox
// as the session last read or learnt it, ascending by UID: what the
// store said when the session read the whole mailbox, then changed by
// what the session learns afterwards (its own writes, and the changes
// sync reads from the store when the feed reports others'). It is as
// current as the session's view (selected.modseq), which is what the
// session reports anyway: a change the session has not learnt of yet is
// reported when it does (RFC 9051 §7.5.1), as with a store read a moment
// earlier.
type metaCache struct {
	ms []store.MessageMeta
}

func cmpMetaUID(m store.MessageMeta, u store.UID) int {
	switch {
	case m.UID < u:
		return -1
	case m.UID > u:
		return 1
	}
	return 0
}

// pick returns the metadata of the messages among uids (ascending) that
// the cache holds.
func (c *metaCache) pick(uids []store.UID) []store.MessageMeta {
	out := make([]store.MessageMeta, 0, len(uids))
	ms := c.ms
	for _, u := range uids {
		// Both ascend: skip ahead, by binary search when far.
		if len(ms) > 16 && ms[16].UID <= u {
			i, _ := slices.BinarySearchFunc(ms, u, cmpMetaUID)
			ms = ms[i:]
		}
		for len(ms) > 0 && ms[0].UID < u {
			ms = ms[1:]
		}
		if len(ms) > 0 && ms[0].UID == u {
			out = append(out, ms[0])
		}
	}
	return out
}

// apply takes in the current metadata of changed or new messages; an
// older version than the one held is ignored.
func (c *metaCache) apply(ms []store.MessageMeta) {
	for _, m := range ms {
		i, ok := slices.BinarySearchFunc(c.ms, m.UID, cmpMetaUID)
		switch {
		case ok && c.ms[i].ModSeq <= m.ModSeq:
			c.ms[i] = m
		case !ok:
			c.ms = slices.Insert(c.ms, i, m)
		}
	}
}

// remove forgets expunged messages.
func (c *metaCache) remove(uids []store.UID) {
	for _, u := range uids {
		if i, ok := slices.BinarySearchFunc(c.ms, u, cmpMetaUID); ok {
			c.ms = slices.Delete(c.ms, i, i+1)
		}
	}
}

// learnt passes metadata the session learnt to its cache, if it has one.
func (sel *selected) learnt(ms []store.MessageMeta) {
	if sel.metas != nil && len(ms) > 0 {
		sel.metas.apply(ms)
		if len(sel.metas.ms) > maxCachedMetas {
			sel.metas = nil
		}
	}
}

// forget drops expunged messages from the session's cache.
func (sel *selected) forget(uids []store.UID) {
	if sel.metas != nil {
		sel.metas.remove(uids)
	}
}

// dropMetas releases the cache (the session goes idle, or can no longer
// keep it current).
func (sel *selected) dropMetas() { sel.metas = nil }
