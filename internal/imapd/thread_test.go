package imapd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// FuzzThread builds threads from arbitrary Message-IDs, references,
// subjects and dates: no panic, and every message appears exactly once
// in the THREAD response.
func FuzzThread(f *testing.F) {
	f.Add([]byte("a|b a|c b|b a|d d c"), true)
	f.Add([]byte("x x|y x|y|z"), false)
	f.Fuzz(func(t *testing.T, data []byte, references bool) {
		var msgs []sortMsg
		for i, spec := range strings.Split(string(data), "|") {
			if i >= 200 {
				break
			}
			f := strings.Fields(spec)
			m := sortMsg{seq: uint32(i + 1), uid: store.UID(i + 1)}
			if len(f) > 0 {
				m.id = f[0]
				m.refs = f[1:]
			}
			m.subject, m.reply = baseSubject(spec)
			m.sent = time.Unix(int64(len(spec)%7), 0)
			msgs = append(msgs, m)
		}
		algorithm := threadOrderedSubject
		if references {
			algorithm = threadReferences
		}
		out := string(appendThreads(nil, algorithm(msgs), false))
		seen := threadNums(t, out)
		slices.Sort(seen)
		for i, n := range seen {
			if n != i+1 {
				t.Fatalf("messages %v in %q, want 1..%d", seen, out, len(msgs))
			}
		}
		if len(seen) != len(msgs) || strings.Count(out, "(") != strings.Count(out, ")") {
			t.Fatalf("%d of %d messages in %q", len(seen), len(msgs), out)
		}
	})
}

// threadNums returns the numbers of a THREAD response.
func threadNums(t *testing.T, out string) []int {
	var nums []int
	for _, w := range strings.FieldsFunc(out, func(r rune) bool { return r == '(' || r == ')' || r == ' ' }) {
		n, err := strconv.Atoi(w)
		if err != nil {
			t.Fatalf("%q in %q", w, out)
		}
		nums = append(nums, n)
	}
	return nums
}

// TestThreadDeepChain: a chain of replies deeper than maxAncestorWalk
// is threaded in time linear in its length, and split rather than lost.
func TestThreadDeepChain(t *testing.T) {
	const n = 5000
	msgs := make([]sortMsg, n)
	for i := range msgs {
		msgs[i] = sortMsg{seq: uint32(i + 1), uid: store.UID(i + 1), id: fmt.Sprint("m", i), sent: time.Unix(int64(i), 0)}
		for j := max(0, i-50); j < i; j++ {
			msgs[i].refs = append(msgs[i].refs, fmt.Sprint("m", j))
		}
	}
	roots := threadReferences(msgs)
	if c := len(threadNums(t, string(appendThreads(nil, roots, false)))); c != n {
		t.Errorf("%d numbers for %d messages", c, n)
	}
	if len(roots) < 2 || len(roots) > n/maxAncestorWalk+1 {
		t.Errorf("%d threads", len(roots))
	}
}
