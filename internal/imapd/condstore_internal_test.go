package imapd

import (
	"slices"
	"testing"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

func set(rs ...imapwire.Range) imapwire.SeqSet { return imapwire.SeqSet{Ranges: rs} }

func TestAbsentRanges(t *testing.T) {
	uids := []store.UID{3, 4, 7, 10}
	for _, tc := range []struct {
		set  imapwire.SeqSet
		star uint32
		from uint32
		want string
	}{
		{set(imapwire.Range{Start: 1, Stop: imapwire.Star}), 12, 1, "1:2,5:6,8:9,11:12"},
		{set(imapwire.Range{Start: 1, Stop: imapwire.Star}), 12, 5, "5:6,8:9,11:12"},
		{set(imapwire.Range{Start: 4, Stop: 4}, imapwire.Range{Start: 5, Stop: 8}, imapwire.Range{Start: 6, Stop: 6}), 12, 1, "5:6,8"},
		{set(imapwire.Range{Start: 3, Stop: 4}), 12, 1, ""},
		{set(imapwire.Range{Start: 11, Stop: 4294967295}), 12, 1, "11:4294967295"},
	} {
		if got := formatRanges(absentRanges(tc.set, tc.star, uids, tc.from)); got != tc.want {
			t.Errorf("absentRanges(%s from %d) = %q, want %q", tc.set, tc.from, got, tc.want)
		}
	}
	// A UID at the top of the range does not wrap.
	top := []store.UID{4294967295}
	if got := formatRanges(absentRanges(set(imapwire.Range{Start: 4294967290, Stop: 4294967295}), 0, top, 1)); got != "4294967290:4294967294" {
		t.Errorf("top: %q", got)
	}
}

func TestSeqMatchFloor(t *testing.T) {
	// The client knew UIDs 1..10 as 1..10; 2 and 8 are gone since.
	sel := &selected{uids: []store.UID{1, 3, 4, 5, 6, 7, 9, 10}}
	for _, tc := range []struct {
		seqs, uids imapwire.SeqSet
		want       uint32
	}{
		// Seq 1 is still UID 1: nothing below 1 is gone.
		{set(imapwire.Range{Start: 1, Stop: 1}), set(imapwire.Range{Start: 1, Stop: 1}), 2},
		// Seq 5 was UID 5, now UID 6: no match; seq 1 matches.
		{set(imapwire.Range{Start: 1, Stop: 1}, imapwire.Range{Start: 5, Stop: 5}), set(imapwire.Range{Start: 1, Stop: 1}, imapwire.Range{Start: 5, Stop: 5}), 2},
		// Nothing matches.
		{set(imapwire.Range{Start: 2, Stop: 3}), set(imapwire.Range{Start: 2, Stop: 3}), 1},
		// Beyond the mailbox: ignored.
		{set(imapwire.Range{Start: 50, Stop: 50}), set(imapwire.Range{Start: 50, Stop: 50}), 1},
	} {
		if got := sel.seqMatchFloor(tc.seqs, tc.uids); got != tc.want {
			t.Errorf("seqMatchFloor(%s, %s) = %d, want %d", tc.seqs, tc.uids, got, tc.want)
		}
	}
	// A client whose view after an expunge matches ours from seq 1 to 7.
	sel = &selected{uids: []store.UID{1, 2, 3, 4, 5, 6, 7, 9, 10}} // 8 gone
	if got := sel.seqMatchFloor(set(imapwire.Range{Start: 1, Stop: 7}), set(imapwire.Range{Start: 1, Stop: 7})); got != 8 {
		t.Errorf("floor %d, want 8", got)
	}
	if got := absentRanges(set(imapwire.Range{Start: 1, Stop: 10}), 10, sel.uids, 8); !slices.Equal(got, []imapwire.Range{{Start: 8, Stop: 8}}) {
		t.Errorf("vanished above the floor: %v", got)
	}
}
