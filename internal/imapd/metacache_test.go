package imapd

import (
	"slices"
	"testing"

	"mailhouse/internal/store"
)

func metaUIDs(ms []store.MessageMeta) []store.UID {
	var out []store.UID
	for _, m := range ms {
		out = append(out, m.UID)
	}
	return out
}

func TestMetaCache(t *testing.T) {
	var c metaCache
	var all []store.MessageMeta
	for u := store.UID(1); u <= 100; u += 3 { // 1, 4, ... 100
		all = append(all, store.MessageMeta{UID: u, ModSeq: 5})
	}
	c.apply(all)
	if got := metaUIDs(c.pick([]store.UID{1, 2, 4, 70, 100, 101})); !slices.Equal(got, []store.UID{1, 4, 70, 100}) {
		t.Errorf("pick: %v", got)
	}
	if got := c.pick([]store.UID{1, 4}); len(got) != 2 {
		t.Errorf("pick of the start: %v", got)
	}
	// A newer version replaces, an older one does not; new UIDs go in
	// order.
	c.apply([]store.MessageMeta{{UID: 4, ModSeq: 7, Flags: []string{`\Seen`}}, {UID: 1, ModSeq: 2, Flags: []string{`\Old`}}, {UID: 2, ModSeq: 8}, {UID: 200, ModSeq: 9}})
	got := c.pick([]store.UID{1, 2, 4, 200})
	if !slices.Equal(metaUIDs(got), []store.UID{1, 2, 4, 200}) || got[0].Flags != nil || !slices.Equal(got[2].Flags, []string{`\Seen`}) {
		t.Errorf("after apply: %+v", got)
	}
	c.remove([]store.UID{2, 4, 5})
	if got := metaUIDs(c.pick([]store.UID{1, 2, 4, 7})); !slices.Equal(got, []store.UID{1, 7}) {
		t.Errorf("after remove: %v", got)
	}
	if !slices.IsSortedFunc(c.ms, func(a, b store.MessageMeta) int { return int(a.UID) - int(b.UID) }) {
		t.Errorf("not ascending: %v", metaUIDs(c.ms))
	}
}
