package imapd

import (
	"slices"
	"strconv"

	"mailhouse/internal/imapd/imapwire"
)

// THREAD (RFC 5256 §4): ORDEREDSUBJECT and REFERENCES, on the messages
// a search finds.

// maxAncestorWalk bounds the walk up the tree that keeps REFERENCES from
// linking a message under its own descendant: a link that would need a
// longer walk is not made (so one chain of replies deeper than this is
// split). It keeps crafted References headers from making THREAD
// quadratic.
const maxAncestorWalk = 1000

// thread is a node of a thread tree: a message, or a dummy (msg nil)
// standing for a message referenced but not found.
type thread struct {
	msg    *sortMsg
	parent *thread
	kids   []*thread
}

func (t *thread) add(kid *thread) {
	kid.parent = t
	t.kids = append(t.kids, kid)
}

func (t *thread) unlink() {
	if p := t.parent; p != nil {
		if i := slices.Index(p.kids, t); i >= 0 {
			p.kids = slices.Delete(p.kids, i, i+1)
		}
		t.parent = nil
	}
}

// first is the message that stands for t when sorting: t's, or for a
// dummy its first child's (RFC 5256 §4 steps 4 and 6).
func (t *thread) first() *sortMsg {
	for t.msg == nil {
		if len(t.kids) == 0 {
			return nil
		}
		t = t.kids[0]
	}
	return t.msg
}

// compareThreads orders nodes by sent date, then sequence number.
func compareThreads(a, b *thread) int {
	ma, mb := a.first(), b.first()
	switch {
	case ma == nil && mb == nil:
		return 0
	case ma == nil:
		return 1
	case mb == nil:
		return -1
	}
	return compareSent(ma, mb)
}

// threadOrderedSubject is ORDEREDSUBJECT ("poor man's threading"):
// messages grouped by base subject, each group's first message (by sent
// date) the parent of the others, groups ordered by their first
// message's sent date.
func threadOrderedSubject(msgs []sortMsg) []*thread {
	ms := make([]*sortMsg, len(msgs))
	for i := range msgs {
		ms[i] = &msgs[i]
	}
	slices.SortStableFunc(ms, func(a, b *sortMsg) int {
		if a.subject != b.subject {
			if a.subject < b.subject {
				return -1
			}
			return 1
		}
		return compareSent(a, b)
	})
	var roots []*thread
	for i := 0; i < len(ms); {
		top := &thread{msg: ms[i]}
		j := i + 1
		for ; j < len(ms) && ms[j].subject == ms[i].subject; j++ {
			top.add(&thread{msg: ms[j]})
		}
		roots = append(roots, top)
		i = j
	}
	slices.SortStableFunc(roots, compareThreads)
	return roots
}

// threadReferences is REFERENCES, RFC 5256 §4's steps 1 to 6.
func threadReferences(msgs []sortMsg) []*thread {
	byID := map[string]*thread{}
	var all []*thread // every container, in creation order
	get := func(id string) *thread {
		t, ok := byID[id]
		if !ok {
			t = &thread{}
			byID[id] = t
			all = append(all, t)
		}
		return t
	}
	// linkable reports whether parent may take child: not itself, and
	// not one of child's descendants (a loop).
	linkable := func(parent, child *thread) bool {
		n := 0
		for x := parent; x != nil; x = x.parent {
			if x == child || n >= maxAncestorWalk {
				return false
			}
			n++
		}
		return true
	}
	for i := range msgs {
		m := &msgs[i]
		// (1) A message without a valid Message-ID, or with one an
		// earlier message had, gets a unique one.
		id := m.id
		if t, ok := byID[id]; id == "" || (ok && t.msg != nil) {
			id = "\x00" + strconv.Itoa(i)
		}
		c := get(id)
		c.msg = m
		// (1)(A) Link the references in order, each the parent of the
		// next, where no link exists yet and none would make a loop.
		var prev *thread
		for _, r := range m.refs {
			rc := get(r)
			if prev != nil && rc.parent == nil && linkable(prev, rc) {
				prev.add(rc)
			}
			prev = rc
		}
		// (1)(B) The last reference is the message's parent, replacing
		// the parent it had (from a truncated References line); none
		// when there are no references.
		switch {
		case prev == nil:
			c.unlink()
		case c.parent != prev && linkable(prev, c):
			c.unlink()
			prev.add(c)
		}
	}
	// (2) The messages without a parent are the root set.
	root := &thread{}
	for _, t := range all {
		if t.parent == nil {
			root.add(t)
		}
	}
	// (3) Prune dummies.
	prune(root, root)
	// (4) Sort the root set by sent date; a dummy by its first child's
	// once its children are sorted.
	for _, t := range root.kids {
		if t.msg == nil {
			slices.SortStableFunc(t.kids, compareThreads)
		}
	}
	slices.SortStableFunc(root.kids, compareThreads)
	// (5) Gather the root set's threads by base subject.
	groupBySubject(root)
	// (6) Sort every set of siblings by sent date, children first.
	sortTree(root)
	return root.kids
}

// prune is RFC 5256 §4 step 3 on t's children: a dummy without children
// goes; a dummy with children is replaced by them, unless that would
// put more than one of them in the root set.
func prune(root, t *thread) {
	for i := 0; i < len(t.kids); {
		k := t.kids[i]
		if k.msg == nil && (len(k.kids) == 0 || t != root || len(k.kids) == 1) {
			kids := k.kids
			for _, g := range kids {
				g.parent = t
			}
			k.kids, k.parent = nil, nil
			t.kids = slices.Replace(t.kids, i, i+1, kids...)
			continue // look at the promoted children in turn
		}
		prune(root, k)
		i++
	}
}

// groupBySubject is RFC 5256 §4 step 5.
func groupBySubject(root *thread) {
	subject := func(t *thread) string {
		if m := t.first(); m != nil {
			return m.subject
		}
		return ""
	}
	isReply := func(t *thread) bool { return t.msg != nil && t.msg.reply }
	// (B) One thread per base subject: a dummy is preferred, then a
	// message that is not a reply.
	table := map[string]*thread{}
	for _, t := range root.kids {
		subj := subject(t)
		if subj == "" {
			continue
		}
		old, ok := table[subj]
		if !ok || (old.msg != nil && (t.msg == nil || (isReply(old) && !isReply(t)))) {
			table[subj] = t
		}
	}
	// (C) Merge the other threads of each subject into it.
	inRoot := make(map[*thread]bool, len(root.kids))
	for _, t := range root.kids {
		inRoot[t] = true
	}
	order := slices.Clone(root.kids)
	for _, t := range order {
		if !inRoot[t] {
			continue
		}
		subj := subject(t)
		if subj == "" {
			continue
		}
		old := table[subj]
		if old == t {
			continue
		}
		switch {
		case old.msg == nil && t.msg == nil:
			// Both dummies: their children become siblings.
			for _, k := range t.kids {
				old.add(k)
			}
			t.kids = nil
			inRoot[t] = false
		case old.msg == nil, isReply(t) && !isReply(old):
			old.add(t)
			inRoot[t] = false
		default:
			// Neither is the other's reply: a new dummy holds both.
			d := &thread{}
			d.add(old)
			d.add(t)
			inRoot[old], inRoot[t] = false, false
			inRoot[d] = true
			order = append(order, d)
			table[subj] = d
		}
	}
	root.kids = root.kids[:0]
	for _, t := range order {
		if inRoot[t] {
			t.parent = root
			root.kids = append(root.kids, t)
		}
	}
}

// sortTree sorts every set of siblings below t by sent date, the
// deepest first, so that a dummy's date is its sorted first child's.
func sortTree(t *thread) {
	for _, k := range t.kids {
		sortTree(k)
	}
	slices.SortStableFunc(t.kids, compareThreads)
}

// appendThreads appends the threads as THREAD response data (RFC 5256
// §5): "(3 6 (4 23)(44 7 96))". A chain of single children is written
// flat; several children each get parentheses; dummies write no number.
func appendThreads(b []byte, roots []*thread, uid bool) []byte {
	var list func(t *thread)
	list = func(t *thread) {
		wrote := false
		for {
			if t.msg != nil {
				if wrote {
					b = append(b, ' ')
				}
				if uid {
					b = appendUint(b, uint64(t.msg.uid))
				} else {
					b = appendUint(b, uint64(t.msg.seq))
				}
				wrote = true
			}
			if len(t.kids) != 1 {
				break
			}
			t = t.kids[0]
		}
		if len(t.kids) > 1 {
			if wrote {
				b = append(b, ' ')
			}
			for _, k := range t.kids {
				b = append(b, '(')
				list(k)
				b = append(b, ')')
			}
		}
	}
	for _, t := range roots {
		b = append(b, '(')
		list(t)
		b = append(b, ')')
	}
	return b
}

// cmdThread serves THREAD and UID THREAD (RFC 5256 §4).
func (s *session) cmdThread(c *imapwire.Command) error {
	tr := c.Thread
	var algorithm func([]sortMsg) []*thread
	switch tr.Algorithm {
	case "ORDEREDSUBJECT":
		algorithm = threadOrderedSubject
	case "REFERENCES":
		algorithm = threadReferences
	default:
		return bad("unknown threading algorithm %s", tr.Algorithm)
	}
	if err := checkCharset(tr.Charset); err != nil {
		return err
	}
	msgs, err := s.collect(tr.Key, true)
	if err != nil {
		return err
	}
	b := append(make([]byte, 0, 16+10*len(msgs)), "* THREAD"...)
	if roots := algorithm(msgs); len(roots) > 0 {
		b = append(b, ' ')
		b = appendThreads(b, roots, c.UID)
	}
	s.writeBytes(append(b, "\r\n"...))
	return nil
}
