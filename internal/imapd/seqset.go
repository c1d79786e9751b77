package imapd

import (
	"slices"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// resolve returns the positions in the view (0-based, ascending, no
// duplicates) that a sequence set names. By sequence number, a number
// above the message count is an error (RFC 9051 §9 seq-number); by UID,
// UIDs not in the view are skipped (RFC 9051 §6.4.9), and "*" is the
// highest UID in use.
func (sel *selected) resolve(set imapwire.SeqSet, uid bool) ([]int, error) {
	if set.Saved {
		// RFC 5182: "$" is the saved result, less what was expunged.
		out := make([]int, 0, len(sel.saved))
		for _, u := range sel.saved {
			if i, ok := slices.BinarySearch(sel.uids, u); ok {
				out = append(out, i)
			}
		}
		return out, nil
	}
	n := len(sel.uids)
	var out []int
	if !uid {
		for _, r := range set.Resolve(uint32(n)) {
			if r.Start == 0 {
				// "*" in an empty mailbox: nothing.
				continue
			}
			if r.Stop > uint32(n) {
				return nil, bad("invalid sequence number %d (mailbox has %d messages)", r.Stop, n)
			}
			for i := r.Start; i <= r.Stop; i++ {
				out = append(out, int(i-1))
			}
			if len(out) > 10*n+1000 {
				break
			}
		}
	} else {
		for _, r := range set.Resolve(uint32(sel.lastUID())) {
			lo, _ := slices.BinarySearch(sel.uids, store.UID(r.Start))
			for i := lo; i < n && sel.uids[i] <= store.UID(r.Stop); i++ {
				out = append(out, i)
			}
			if len(out) > 10*n+1000 {
				break
			}
		}
	}
	if len(set.Ranges) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out, nil
}

// uidsAt returns the UIDs at view positions.
func (sel *selected) uidsAt(pos []int) []store.UID {
	out := make([]store.UID, len(pos))
	for i, p := range pos {
		out[i] = sel.uids[p]
	}
	return out
}
