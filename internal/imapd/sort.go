package imapd

import (
	"slices"
	"strings"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// SORT (RFC 5256 §3) with the DISPLAYFROM and DISPLAYTO keys of RFC 5957
// (SORT=DISPLAY). Strings compare under i;ascii-casemap (RFC 5256 §3:
// the default without I18NLEVEL); messages that compare equal on every
// key keep their mailbox order (sequence numbers).

// sortMsg is what SORT and THREAD know of one message.
type sortMsg struct {
	seq     uint32
	uid     store.UID
	modseq  store.ModSeq
	arrival time.Time
	sent    time.Time // Date header, else INTERNALDATE (RFC 5256 §2.2)
	size    int64
	subject string // collation key of the base subject (RFC 5256 §2.1)
	reply   bool   // the subject marked a reply or forward
	// Collation keys of the address criteria.
	from, to, cc           string
	displayFrom, displayTo string
	// THREAD: the normalised Message-ID and references.
	id   string
	refs []string
}

// maxThreadRefs bounds the references of one message that THREAD
// follows (the last ones, the nearest ancestors).
const maxThreadRefs = 1000

// newSortMsg computes a message's keys; st may be nil when only
// ARRIVAL and SIZE are needed.
func newSortMsg(seq uint32, m store.MessageMeta, st *message.Structure) sortMsg {
	k := sortMsg{seq: seq, uid: m.UID, modseq: m.ModSeq, arrival: m.InternalDate, sent: m.InternalDate, size: m.Size}
	if st == nil {
		return k
	}
	if !st.Date.IsZero() {
		k.sent = st.Date
	}
	base, reply := baseSubject(st.Envelope.SubjectDecoded)
	k.subject, k.reply = collationKey(base), reply
	env := &st.Envelope
	k.from = collationKey(firstAddr(env.From).Mailbox)
	k.to = collationKey(firstAddr(env.To).Mailbox)
	k.cc = collationKey(firstAddr(env.Cc).Mailbox)
	k.displayFrom = collationKey(displayName(firstAddr(env.From)))
	k.displayTo = collationKey(displayName(firstAddr(env.To)))
	k.id = normalizeMsgID(env.MessageID)
	refs := st.References
	if len(refs) > maxThreadRefs {
		refs = refs[len(refs)-maxThreadRefs:]
	}
	for _, r := range refs {
		if id := normalizeMsgID(r); id != "" {
			k.refs = append(k.refs, id)
		}
	}
	return k
}

// firstAddr returns the first address of a list that is not a group
// marker (RFC 5256 §3: "the first From address").
func firstAddr(l []message.Address) message.Address {
	for _, a := range l {
		if a.Host != "" {
			return a
		}
	}
	return message.Address{}
}

// displayName is RFC 5957 §3's key: the display name, or when it is
// empty the addr-spec.
func displayName(a message.Address) string {
	if name := strings.TrimSpace(a.Name); name != "" {
		return name
	}
	if a.Mailbox == "" {
		return ""
	}
	return a.Mailbox + "@" + a.Host
}

// normalizeMsgID returns the msg-id inside the first "<...>" of v,
// without quoting (RFC 5256 §4: "<"01KF8JCEOCBS0045PS"@xxx.yyy.com>" and
// "<01KF8JCEOCBS0045PS@xxx.yyy.com>" are one ID); "" when there is none.
func normalizeMsgID(v string) string {
	i := strings.IndexByte(v, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(v[i+1:], '>')
	if j < 0 {
		return ""
	}
	id := strings.TrimSpace(v[i+1 : i+1+j])
	if strings.ContainsAny(id, `"\`) {
		var b strings.Builder
		for k := 0; k < len(id); k++ {
			switch id[k] {
			case '"':
			case '\\':
				if k+1 < len(id) {
					k++
					b.WriteByte(id[k])
				}
			default:
				b.WriteByte(id[k])
			}
		}
		id = b.String()
	}
	if id == "" || !strings.Contains(id, "@") {
		return ""
	}
	return id
}

// compareSent orders by sent date, then by sequence number.
func compareSent(a, b *sortMsg) int {
	if c := a.sent.Compare(b.sent); c != 0 {
		return c
	}
	return int(int64(a.seq) - int64(b.seq))
}

// compareBy compares two messages by one SORT key.
func compareBy(key string, a, b *sortMsg) int {
	switch key {
	case "ARRIVAL":
		return a.arrival.Compare(b.arrival)
	case "DATE":
		return a.sent.Compare(b.sent)
	case "SIZE":
		return int(min(max(a.size-b.size, -1), 1))
	case "SUBJECT":
		return strings.Compare(a.subject, b.subject)
	case "FROM":
		return strings.Compare(a.from, b.from)
	case "TO":
		return strings.Compare(a.to, b.to)
	case "CC":
		return strings.Compare(a.cc, b.cc)
	case "DISPLAYFROM":
		return strings.Compare(a.displayFrom, b.displayFrom)
	case "DISPLAYTO":
		return strings.Compare(a.displayTo, b.displayTo)
	}
	return 0
}

// sortMessages sorts msgs (in sequence order) by the criteria; ties keep
// sequence order.
func sortMessages(msgs []sortMsg, criteria []imapwire.SortCriterion) {
	slices.SortStableFunc(msgs, func(a, b sortMsg) int {
		for _, c := range criteria {
			r := compareBy(c.Key, &a, &b)
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	})
}

// needsStructure reports whether a SORT needs more than metadata.
func needsStructure(criteria []imapwire.SortCriterion) bool {
	for _, c := range criteria {
		if c.Key != "ARRIVAL" && c.Key != "SIZE" {
			return true
		}
	}
	return false
}

func checkCharset(cs string) error {
	switch cs {
	case "UTF-8", "US-ASCII":
		return nil
	}
	// RFC 5256 §3: UTF-8 and US-ASCII MUST be supported; BADCHARSET
	// lists them.
	return no("BADCHARSET (UTF-8 US-ASCII)", "unsupported charset %s", cs)
}

// collect runs the search of a SORT or THREAD and returns the keys of
// the messages found, in sequence order.
func (s *session) collect(key *imapwire.SearchKey, structure bool) ([]sortMsg, error) {
	var msgs []sortMsg
	err := s.searchEach(key, structure, func(c *candidate) {
		var st *message.Structure
		if c.msg != nil {
			st = c.msg.st
		}
		msgs = append(msgs, newSortMsg(c.seq, c.meta, st))
	})
	if searchHasModSeq(key) {
		s.enableCondstore()
	}
	return msgs, err
}

// appendModSeq appends " (MODSEQ n)" with the highest modseq of msgs
// when the search used MODSEQ (RFC 7162 §3.1.5 and its sort-data
// grammar; THREAD responses have no such item).
func appendModSeq(b []byte, key *imapwire.SearchKey, msgs []sortMsg) []byte {
	if !searchHasModSeq(key) || len(msgs) == 0 {
		return b
	}
	var m store.ModSeq
	for i := range msgs {
		m = max(m, msgs[i].modseq)
	}
	b = append(b, " (MODSEQ "...)
	b = appendUint(b, uint64(m))
	return append(b, ')')
}

// cmdSort serves SORT and UID SORT (RFC 5256 §3).
func (s *session) cmdSort(c *imapwire.Command) error {
	sr := c.Sort
	if err := checkCharset(sr.Charset); err != nil {
		return err
	}
	msgs, err := s.collect(sr.Key, needsStructure(sr.Criteria))
	if err != nil {
		return err
	}
	sortMessages(msgs, sr.Criteria)
	b := append(make([]byte, 0, 16+8*len(msgs)), "* SORT"...)
	for i := range msgs {
		b = append(b, ' ')
		if c.UID {
			b = appendUint(b, uint64(msgs[i].uid))
		} else {
			b = appendUint(b, uint64(msgs[i].seq))
		}
	}
	b = appendModSeq(b, sr.Key, msgs)
	s.writeBytes(append(b, "\r\n"...))
	return nil
}
