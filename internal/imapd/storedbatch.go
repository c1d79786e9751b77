package imapd

import (
	"errors"
	"slices"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// need says what FETCH or SEARCH reads of each message, in increasing
// cost.
type need int

const (
	needNone   need = iota // metadata only
	needParsed             // the structure computed at delivery
	needHeader             // structure and the top-level header
	needBody               // structure and the whole message
)

// Batches: how many messages one store query reads, and how many bytes
// of messages at most (beyond one message), so that a FETCH of a large
// mailbox holds a bounded part of it at a time.
const (
	batchMessages = 64
	batchBytes    = 1 << 20
)

// fetchNeed is what a FETCH plan reads of each message.
func fetchNeed(p *fetchPlan) need {
	if !p.body {
		if p.parsed {
			return needParsed
		}
		return needNone
	}
	for _, it := range p.items {
		switch it.Name {
		case "RFC822.HEADER":
		case "BODY":
			if len(it.Section.Part) > 0 || !headerSpecifier(it.Section.Specifier) {
				return needBody
			}
		case "RFC822", "RFC822.TEXT", "BINARY", "BINARY.SIZE":
			return needBody
		}
	}
	return needHeader
}

func headerSpecifier(s string) bool {
	return s == "HEADER" || s == "HEADER.FIELDS" || s == "HEADER.FIELDS.NOT"
}

// searchNeed is what a search key reads of each message.
func searchNeed(k *imapwire.SearchKey) need {
	switch k.Op {
	case "BODY", "TEXT":
		return needBody
	case "HEADER":
		if envelopeSubject(k) {
			return needParsed
		}
		return needHeader
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		return needParsed
	}
	n := needNone
	for _, c := range k.Children {
		n = max(n, searchNeed(c))
	}
	return n
}

// batchEnd returns the end of the batch of ms that starts at start.
func batchEnd(ms []store.MessageMeta, start int, n need) int {
	end, bytes := start, int64(0)
	for end < len(ms) && end-start < batchMessages {
		if n == needBody {
			if end > start && bytes+ms[end].Size > batchBytes {
				break
			}
			bytes += ms[end].Size
		}
		end++
	}
	return end
}

// readBatch reads what n asks of the messages ms of the selected mailbox
// (n > needNone): the result is aligned with ms, nil where a message is
// gone. Structures (and headers) come from the server's cache when it
// has them; the others from one store query when the store can
// (store.BatchReader), else one message at a time. scan: see
// structCache.put.
func (s *session) readBatch(ms []store.MessageMeta, n need, scan bool) ([]*stored, error) {
	out := make([]*stored, len(ms))
	validity := s.sel.mb.UIDValidity
	var missing []store.UID
	at := map[store.UID]int{}
	for i := range ms {
		m := &ms[i]
		if n < needBody {
			if e := s.srv.structs.get(structKey{m.Mailbox, validity, m.UID}, m, n == needHeader); e != nil {
				out[i] = &stored{msg: e.head, prefixLen: min(m.PrefixLen, len(e.head)), st: e.st}
				continue
			}
		}
		missing = append(missing, m.UID)
		at[m.UID] = i
	}
	if len(missing) == 0 {
		return out, nil
	}
	br, ok := s.srv.o.Store.(store.BatchReader)
	if !ok {
		for _, u := range missing {
			i := at[u]
			msg, err := s.readStored(ms[i], n >= needHeader)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[i] = s.keep(&ms[i], msg, n, 0, scan)
		}
		return out, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	parts := store.BatchParsed
	if n >= needHeader {
		parts |= store.BatchBody
	}
	rows, err := br.ReadBatch(ctx, s.sel.mb.ID, missing, parts)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		i, ok := at[r.Meta.UID]
		if !ok {
			continue
		}
		m := &ms[i]
		msg := &stored{msg: r.Message, prefixLen: min(max(m.PrefixLen, 0), len(r.Message))}
		if len(r.Parsed) > 0 {
			msg.st, err = message.Unmarshal(r.Parsed)
		}
		if len(r.Parsed) == 0 || err != nil {
			// No usable stored structure (older data): the slow path.
			msg, err = s.readStored(*m, n >= needHeader)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[i] = s.keep(m, msg, n, 0, scan)
			continue
		}
		out[i] = s.keep(m, msg, n, len(r.Parsed), scan)
	}
	return out, nil
}

// keep caches a structure read from the store (rawLen: the length of its
// encoding, 0 when it was parsed now and so is not cached) and returns
// what the caller needs of it: for needHeader, only the header, so that
// the body is not held.
func (s *session) keep(m *store.MessageMeta, msg *stored, n need, rawLen int, scan bool) *stored {
	var head []byte
	if n >= needHeader && msg.msg != nil {
		head = msg.msg[:msg.prefixLen+int(min(max(msg.st.Root.BodyStart, 0), int64(len(msg.body()))))]
		head = head[:len(head):len(head)]
	}
	if rawLen > 0 {
		var cached []byte
		if head != nil {
			// A copy: the cache must not pin the whole message.
			cached = append([]byte(nil), head...)
		}
		s.srv.structs.put(structKey{m.Mailbox, s.sel.mb.UIDValidity, m.UID}, m, msg.st, rawLen, cached, scan)
		if n == needHeader {
			head = cached
		}
	}
	if n == needHeader && head != nil {
		return &stored{msg: head, prefixLen: msg.prefixLen, st: msg.st}
	}
	return msg
}

// readMetas returns the metadata of the messages among uids (ascending)
// that exist, by UID: from the session's cache unless fresh, else in one
// query when the store can (at most store.MaxBatch UIDs). A read of the
// whole mailbox fills the cache.
func (s *session) readMetas(uids []store.UID, fresh bool) ([]store.MessageMeta, bool, error) {
	sel := s.sel
	if sel.metas != nil && !fresh {
		return sel.metas.pick(uids), true, nil
	}
	br, ok := s.srv.o.Store.(store.BatchReader)
	if !ok || len(uids) > store.MaxBatch {
		return nil, false, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := br.ReadBatch(ctx, sel.mb.ID, uids, 0)
	if err != nil {
		return nil, true, err
	}
	ms := make([]store.MessageMeta, len(rows))
	for i := range rows {
		ms[i] = rows[i].Meta
	}
	if sel.metas == nil && sel.events != nil && len(uids) <= maxCachedMetas && slices.Equal(uids, sel.uids) {
		sel.metas = &metaCache{ms: slices.Clone(ms)}
	}
	return ms, true, nil
}
