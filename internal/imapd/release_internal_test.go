package imapd

import (
	"testing"

	"mailhouse/internal/store"
)

// ReleaseMemory empties the structure cache, which then fills again.
func TestReleaseMemoryEmptiesStructCache(t *testing.T) {
	srv := &Server{}
	key := func(i int) structKey { return structKey{7, 1, store.UID(i)} }
	for i := 1; i <= 50; i++ {
		m, st, n := cacheMsg(i)
		srv.structs.put(key(i), m, st, n, nil, false)
	}
	if err := srv.ReleaseMemory(t.Context()); err != nil {
		t.Fatal(err)
	}
	if srv.structs.used != 0 || len(srv.structs.items) != 0 || srv.structs.lru.Len() != 0 {
		t.Fatalf("after ReleaseMemory: %d bytes, %d items, %d in LRU", srv.structs.used, len(srv.structs.items), srv.structs.lru.Len())
	}
	m, st, n := cacheMsg(3)
	if srv.structs.get(key(3), m, false) != nil {
		t.Error("an entry survived ReleaseMemory")
	}
	srv.structs.put(key(3), m, st, n, nil, false)
	if srv.structs.get(key(3), m, false) == nil {
		t.Error("the cache does not fill again after ReleaseMemory")
	}
}
