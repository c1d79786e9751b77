package imapd

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

func cacheMsg(i int) (*store.MessageMeta, *message.Structure, int) {
	raw := []byte(fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n", i, i))
	st := message.Parse(raw)
	m := &store.MessageMeta{Mailbox: 7, UID: store.UID(i), Size: int64(len(raw)), InternalDate: time.Unix(int64(i), 0)}
	return m, st, len(st.Marshal())
}

// TestStructCacheBound: the cache never holds more than its bound, and
// evicts the least recently used entries first.
func TestStructCacheBound(t *testing.T) {
	c := structCache{max: 64 << 10}
	key := func(i int) structKey { return structKey{7, 1, store.UID(i)} }
	for i := 1; i <= 1000; i++ {
		m, st, n := cacheMsg(i)
		c.put(key(i), m, st, n, []byte("Subject: x\r\n\r\n"), false)
		if c.used > c.max {
			t.Fatalf("after %d entries: %d bytes used, bound %d", i, c.used, c.max)
		}
		if i%10 == 0 {
			// Keep message 1 in use: it must survive.
			m1, _, _ := cacheMsg(1)
			if c.get(key(1), m1, true) == nil {
				t.Fatalf("message 1, used every 10 puts, evicted after %d", i)
			}
		}
	}
	if len(c.items) < 10 || len(c.items) > 1000 {
		t.Fatalf("%d entries in %d bytes", len(c.items), c.used)
	}
	// A scan fills no more than the free room: the full cache keeps its
	// entries.
	before := len(c.items)
	for i := 2000; i < 2100; i++ {
		m, st, n := cacheMsg(i)
		c.put(key(i), m, st, n, nil, true)
		if m1, _, _ := cacheMsg(1); c.get(key(1), m1, true) == nil {
			t.Fatalf("a scan evicted message 1")
		}
	}
	if len(c.items) > before+1 || c.used > c.max {
		t.Errorf("a scan of a full cache went from %d to %d entries (%d of %d bytes)", before, len(c.items), c.used, c.max)
	}
	m2, _, _ := cacheMsg(2)
	if c.get(key(2), m2, false) != nil {
		t.Errorf("message 2, least recently used, still cached")
	}
	m1000, _, _ := cacheMsg(1000)
	if e := c.get(key(1000), m1000, true); e == nil || e.st.Envelope.Subject != "message 1000" {
		t.Errorf("latest entry = %+v", e)
	}
}

// TestStructCacheStale: an entry whose message's size, date or prefix
// differs from the metadata asked with is dropped, not served; an entry
// without header does not answer a request for one.
func TestStructCacheStale(t *testing.T) {
	var c structCache
	k := structKey{7, 1, 5}
	m, st, n := cacheMsg(5)
	c.put(k, m, st, n, nil, false)
	if c.get(k, m, false) == nil {
		t.Fatal("entry not cached")
	}
	if c.get(k, m, true) != nil {
		t.Error("entry without header served as having one")
	}
	other := *m
	other.Size++
	if c.get(k, &other, false) != nil {
		t.Error("entry served for a message of another size")
	}
	if c.get(k, m, false) != nil || c.used != 0 {
		t.Errorf("stale entry kept (%d bytes)", c.used)
	}
	// Too large for the bound: not cached at all.
	c = structCache{max: 1000}
	c.put(k, m, st, n, make([]byte, 200), false)
	if len(c.items) != 0 {
		t.Errorf("entry over a tenth of the bound cached")
	}
}

// TestStructCost: the cost charged for a structure is not below what
// decoding it allocates, nor far above (corpus messages).
func TestStructCost(t *testing.T) {
	var raws [][]byte
	var cost int
	for _, f := range testutil.CorpusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1<<20 {
			continue
		}
		raw := message.Parse(message.ToCRLF(b)).Marshal()
		st, err := message.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
		cost += structCost(st, len(raw))
	}
	var before, after runtime.MemStats
	keep := make([]*message.Structure, 0, len(raws))
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, raw := range raws {
		st, _ := message.Unmarshal(raw)
		keep = append(keep, st)
	}
	runtime.ReadMemStats(&after)
	alloc := int(after.TotalAlloc - before.TotalAlloc)
	runtime.KeepAlive(keep)
	t.Logf("%d structures: cost %d bytes, decoding allocated %d", len(raws), cost, alloc)
	if cost < alloc || cost > 4*alloc {
		t.Errorf("cost %d bytes for structures whose decoding allocated %d", cost, alloc)
	}
}

// TestStructCacheIdleDrop: a cache left unused empties itself; one in
// use does not.
func TestStructCacheIdleDrop(t *testing.T) {
	c := structCache{idle: 50 * time.Millisecond}
	key := structKey{7, 1, 1}
	m, st, n := cacheMsg(1)
	c.put(key, m, st, n, nil, false)
	for range 6 { // in use for longer than idle
		time.Sleep(20 * time.Millisecond)
		if c.get(key, m, false) == nil {
			t.Fatal("dropped while in use")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		used, items := c.used, len(c.items)
		c.mu.Unlock()
		if used == 0 && items == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unused for 5 s, still %d entries, %d bytes", items, used)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// It fills again afterwards.
	c.put(key, m, st, n, nil, false)
	if c.get(key, m, false) == nil {
		t.Fatal("not cached after the drop")
	}
}
