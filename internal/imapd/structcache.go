package imapd

import (
	"container/list"
	"context"
	"sync"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// defaultStructCacheBytes bounds the structure cache of a Server: enough
// for the structures and headers of the messages busy sessions use
// (about 2 KB each for ordinary mail: 8,000 messages), and nothing once
// the server is idle (idleDrop).
const defaultStructCacheBytes = 16 << 20

// idleDrop: a cache nobody has used for this long is emptied, so that a
// server between bursts (1,000 idle connections must cost little) does
// not hold it.
const idleDrop = 15 * time.Second

// maxCachedHeader: messages whose top-level header is larger are cached
// without it (structure only).
const maxCachedHeader = 16 << 10

// structKey names one message for ever: a mailbox's UIDs are never
// reused within one UIDVALIDITY, and UIDVALIDITY changes whenever a
// mailbox (id) could be made anew.
type structKey struct {
	mailbox  store.MailboxID
	validity uint32
	uid      store.UID
}

// structEntry is a message's decoded structure and, when known, its
// top-level header as stored (per-copy prefix and header). Both are
// immutable: they are shared by the sessions that read them.
type structEntry struct {
	key structKey
	// Size, date and prefix length of the message, checked on every hit:
	// a stale entry (a key reused against the rules above) is dropped
	// rather than served.
	size      int64
	date      time.Time
	prefixLen int
	st        *message.Structure
	head      []byte // nil when not cached
	cost      int
	elem      *list.Element
}

// structCache is a byte-bounded LRU cache of decoded structures, shared
// by all sessions of a Server. The zero value is ready to use with the
// default bound.
type structCache struct {
	mu    sync.Mutex
	max   int           // bytes; 0 means defaultStructCacheBytes
	idle  time.Duration // 0 means idleDrop
	used  int
	items map[structKey]*structEntry
	lru   list.List // front: most recently used
	// lastUse is when get or put last ran; dropper empties the cache
	// once it has been unused for idleDrop (nil while empty).
	lastUse time.Time
	dropper *time.Timer
}

// get returns the cached entry of m, if any; withHead asks for one whose
// header is known.
func (c *structCache) get(key structKey, m *store.MessageMeta, withHead bool) *structEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.items[key]
	if e == nil {
		return nil
	}
	c.lastUse = time.Now()
	if e.size != m.Size || e.prefixLen != m.PrefixLen || !e.date.Equal(m.InternalDate) {
		c.remove(e)
		return nil
	}
	if withHead && e.head == nil {
		return nil
	}
	c.lru.MoveToFront(e.elem)
	return e
}

// put caches a message's structure and, unless nil, its header. It keeps
// neither when they are larger than a tenth of the bound. With scan (a
// SEARCH going through a whole mailbox) it only fills free room and
// evicts nothing, so that scans of mailboxes larger than the cache do
// not flush what FETCH keeps using.
func (c *structCache) put(key structKey, m *store.MessageMeta, st *message.Structure, rawLen int, head []byte, scan bool) {
	if len(head) > maxCachedHeader {
		head = nil
	}
	cost := structCost(st, rawLen) + len(head)
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.max
	if limit <= 0 {
		limit = defaultStructCacheBytes
	}
	if cost > limit/10 || (scan && c.used+cost > limit) {
		return
	}
	if c.items == nil {
		c.items = map[structKey]*structEntry{}
	}
	c.lastUse = time.Now()
	if c.dropper == nil {
		c.dropper = time.AfterFunc(c.idleAfter(), c.dropIfIdle)
	}
	if old := c.items[key]; old != nil {
		if head == nil && old.head != nil {
			c.lru.MoveToFront(old.elem)
			return // keep the richer entry
		}
		c.remove(old)
	}
	e := &structEntry{key: key, size: m.Size, date: m.InternalDate, prefixLen: m.PrefixLen, st: st, head: head, cost: cost}
	e.elem = c.lru.PushFront(e)
	c.items[key] = e
	c.used += cost
	for c.used > limit {
		c.remove(c.lru.Back().Value.(*structEntry))
	}
}

func (c *structCache) idleAfter() time.Duration {
	if c.idle > 0 {
		return c.idle
	}
	return idleDrop
}

// dropIfIdle empties the cache if it has not been used for idleDrop,
// else looks again when it may have been.
func (c *structCache) dropIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := c.idleAfter() - time.Since(c.lastUse); wait > 0 {
		c.dropper.Reset(wait)
		return
	}
	c.items = nil
	c.lru.Init()
	c.used = 0
	c.dropper = nil
}

func (c *structCache) remove(e *structEntry) {
	c.lru.Remove(e.elem)
	delete(c.items, e.key)
	c.used -= e.cost
}

// structCost estimates the memory of a decoded structure from the length
// of its encoding: the decoded form holds the same strings plus the Go
// headers of its parts, addresses and slices (measured by
// TestStructCost), and the entry's own bookkeeping.
func structCost(st *message.Structure, rawLen int) int {
	n := 256 + 2*rawLen
	var parts func(p *message.Part)
	parts = func(p *message.Part) {
		n += 320
		for i := range p.Parts {
			parts(&p.Parts[i])
		}
	}
	parts(&st.Root)
	return n
}

// ReleaseMemory empties the structure cache: the server has gone quiet
// (the app's memory trimmer calls it), and sessions that come back fill
// it again as they FETCH. It returns no error.
func (s *Server) ReleaseMemory(context.Context) error {
	s.structs.mu.Lock()
	defer s.structs.mu.Unlock()
	s.structs.items = nil
	s.structs.lru.Init()
	s.structs.used = 0
	return nil
}
