package importer

import (
	"fmt"
	"time"
)

// dedupIndex is what a target mailbox holds, for the duplicate check
// that makes imports idempotent. A message is known by its Message-ID
// (white space removed) with its internal date to the second; as a
// second chance, and for messages without a Message-ID, by its size
// with its internal date. The second key catches a Message-ID that the
// two sides read differently from a broken header (an IMAP server's
// HEADER.FIELDS against our parser).
//
// Each stored message matches at most one source message, so a source
// folder holding two identical copies gets two copies here, and a run
// after an interruption copies exactly what is missing.
type dedupIndex struct {
	entries []dedupEntry
	byID    map[string][]int // into entries
	bySize  map[string][]int
}

type dedupEntry struct {
	used bool
}

func newDedupIndex(n int) *dedupIndex {
	return &dedupIndex{byID: make(map[string][]int, n), bySize: make(map[string][]int, n)}
}

// idKey and sizeKey are the two keys; idKey is "" without a Message-ID.
func idKey(msgID string, date time.Time) string {
	id := make([]byte, 0, len(msgID))
	for i := 0; i < len(msgID); i++ {
		if c := msgID[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			id = append(id, c)
		}
	}
	if len(id) == 0 {
		return ""
	}
	return fmt.Sprintf("%s|%d", id, date.Unix())
}

func sizeKey(size int64, date time.Time) string {
	return fmt.Sprintf("%d|%d", size, date.Unix())
}

// add records a stored message.
func (x *dedupIndex) add(msgID string, date time.Time, size int64) {
	i := len(x.entries)
	x.entries = append(x.entries, dedupEntry{})
	if k := idKey(msgID, date); k != "" {
		x.byID[k] = append(x.byID[k], i)
	}
	k := sizeKey(size, date)
	x.bySize[k] = append(x.bySize[k], i)
}

// seen reports whether a source message is already stored, and if so
// uses up the stored message it matched.
func (x *dedupIndex) seen(msgID string, date time.Time, size int64) bool {
	if k := idKey(msgID, date); k != "" && x.take(x.byID[k]) {
		return true
	}
	return x.take(x.bySize[sizeKey(size, date)])
}

// take marks the first unused entry of list used.
func (x *dedupIndex) take(list []int) bool {
	for _, i := range list {
		if !x.entries[i].used {
			x.entries[i].used = true
			return true
		}
	}
	return false
}
