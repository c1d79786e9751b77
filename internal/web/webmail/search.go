package webmail

import (
	"context"
	"strings"
	"time"
	"unicode"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// Search: the box takes words, "quoted phrases" and field terms
// (from:, to:, subject:, body:, is:unread, is:flagged, has:attachment).
// Every term must match; a bare word matches the sender, the recipients,
// the subject or the text. Matching is case-insensitive substring
// matching on decoded text. There is no index: a search scans the
// folder's messages newest first, at most searchScanLimit of them and for
// at most searchTime, and says so when it stopped early.

// maxQueryLength and maxTerms bound a query.
const (
	maxQueryLength = 500
	maxTerms       = 20
	// searchTextLimit is how much of each message's text body terms see.
	searchTextLimit = 1 << 20
)

type field int

const (
	fieldAny field = iota
	fieldFrom
	fieldTo
	fieldSubject
	fieldBody
	fieldUnread
	fieldFlagged
	fieldAttachment
)

// term is one condition of a query, its text folded for matching.
type term struct {
	field field
	text  string
}

// parseQuery splits a search into terms. It never fails: unknown field
// names are searched as words, unbalanced quotes run to the end.
func parseQuery(s string) []term {
	if len(s) > maxQueryLength {
		s = s[:maxQueryLength]
	}
	s = strings.ToValidUTF8(s, "")
	var out []term
	for len(out) < maxTerms {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			break
		}
		f := fieldAny
		if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsFunc(s[:i], unicode.IsSpace) && !strings.Contains(s[:i], `"`) {
			switch strings.ToLower(s[:i]) {
			case "from":
				f = fieldFrom
			case "to", "cc":
				f = fieldTo
			case "subject":
				f = fieldSubject
			case "body", "text":
				f = fieldBody
			case "is":
				switch w, rest := word(s[i+1:]); strings.ToLower(w) {
				case "unread":
					out, s = append(out, term{field: fieldUnread}), rest
					continue
				case "flagged", "starred":
					out, s = append(out, term{field: fieldFlagged}), rest
					continue
				}
			case "has":
				if w, rest := word(s[i+1:]); strings.HasPrefix(strings.ToLower(w), "attachment") {
					out, s = append(out, term{field: fieldAttachment}), rest
					continue
				}
			}
			if f != fieldAny {
				s = s[i+1:]
			}
		}
		var text string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				text, s = s[1:], ""
			} else {
				text, s = s[1:1+end], s[2+end:]
			}
		} else {
			text, s = word(s)
		}
		if text = fold(strings.TrimSpace(text)); text != "" {
			out = append(out, term{field: f, text: text})
		}
	}
	return out
}

// word splits the first white-space-delimited word off s.
func word(s string) (w, rest string) {
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// fold prepares text for case-insensitive matching.
func fold(s string) string { return strings.ToLower(s) }

// searchResult is the matching messages, in list order.
type searchResult struct {
	metas   []store.MessageMeta
	partial bool // stopped by a limit before scanning every message
}

// search returns up to want matching messages of metas (already in list
// order).
func (wm *Webmail) search(ctx context.Context, mb store.Mailbox, metas []store.MessageMeta, terms []term, want int) searchResult {
	var res searchResult
	if len(terms) == 0 {
		res.metas = metas[:min(len(metas), want)]
		return res
	}
	deadline := time.Now().Add(searchTime)
	for i, m := range metas {
		if len(res.metas) >= want {
			break
		}
		if i >= searchScanLimit || time.Now().After(deadline) || ctx.Err() != nil {
			res.partial = true
			break
		}
		if wm.matches(ctx, m, terms) {
			res.metas = append(res.metas, m)
		}
	}
	return res
}

// matches reports whether one message matches every term. The body is
// read only when a term needs it.
func (wm *Webmail) matches(ctx context.Context, m store.MessageMeta, terms []term) bool {
	s := wm.structure(ctx, m.Mailbox, m.UID)
	if s == nil {
		return false
	}
	c := candidate{s: s, meta: m}
	for _, t := range terms {
		if !c.match(t, func() string { return wm.bodyText(ctx, m, s) }) {
			return false
		}
	}
	return true
}

// candidate is a message being matched, with its folded fields computed
// on first use.
type candidate struct {
	s                   *message.Structure
	meta                store.MessageMeta
	from, to, subj, txt *string
}

func (c *candidate) match(t term, body func() string) bool {
	switch t.field {
	case fieldUnread:
		return !hasFlag(c.meta.Flags, store.FlagSeen)
	case fieldFlagged:
		return hasFlag(c.meta.Flags, store.FlagFlagged)
	case fieldAttachment:
		return hasAttachments(c.s)
	case fieldFrom:
		return strings.Contains(c.fromText(), t.text)
	case fieldTo:
		return strings.Contains(c.toText(), t.text)
	case fieldSubject:
		return strings.Contains(c.subject(), t.text)
	case fieldBody:
		return strings.Contains(c.text(body), t.text)
	}
	return strings.Contains(c.fromText(), t.text) || strings.Contains(c.toText(), t.text) ||
		strings.Contains(c.subject(), t.text) || strings.Contains(c.text(body), t.text)
}

func (c *candidate) fromText() string {
	if c.from == nil {
		v := fold(addressText(c.s.Envelope.From) + " " + addressText(c.s.Envelope.Sender))
		c.from = &v
	}
	return *c.from
}

func (c *candidate) toText() string {
	if c.to == nil {
		e := &c.s.Envelope
		v := fold(addressText(e.To) + " " + addressText(e.Cc) + " " + addressText(e.Bcc))
		c.to = &v
	}
	return *c.to
}

func (c *candidate) subject() string {
	if c.subj == nil {
		v := fold(c.s.Envelope.SubjectDecoded)
		c.subj = &v
	}
	return *c.subj
}

func (c *candidate) text(body func() string) string {
	if c.txt == nil {
		v := fold(body())
		c.txt = &v
	}
	return *c.txt
}

// bodyText is the readable text of a message, for body terms.
func (wm *Webmail) bodyText(ctx context.Context, m store.MessageMeta, s *message.Structure) string {
	_, msg, err := wm.readBody(ctx, m)
	if err != nil {
		return ""
	}
	return message.Text(msg, s, searchTextLimit)
}

// addressText is an address list as searchable text: names and
// addresses.
func addressText(l []message.Address) string {
	var b strings.Builder
	for _, a := range l {
		if a.Host == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Name)
		b.WriteByte(' ')
		b.WriteString(a.Mailbox)
		b.WriteByte('@')
		b.WriteString(a.Host)
	}
	return b.String()
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
