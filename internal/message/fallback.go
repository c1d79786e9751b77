package message

import "strings"

// This file is the tolerant address parser, used when the strict one
// refuses a value: groups, obsolete routes, missing "@" or angle brackets,
// unterminated quotes and comments, raw 8-bit names.

// tokKind is the kind of an address token.
type tokKind uint8

const (
	tokAtom    tokKind = iota // atom, dot-atom or domain literal
	tokQuoted                 // quoted-string, text unquoted
	tokComment                // comment, text without parentheses
	tokSpecial                // one of < > @ , ; :
)

type addrTok struct {
	kind tokKind
	text string
	sp   bool // white space or a comment came before the token
}

// addrLexer splits an address-list value into tokens, one at a time, so
// that parsing can stop at MaxAddresses without reading the rest.
type addrLexer struct {
	s string
	i int
	// Once a quote is found unterminated, later quotes are too: they are
	// skipped without scanning to the end again (which would be quadratic).
	unterminated bool
}

// next returns the next token, or false at the end.
func (l *addrLexer) next() (addrTok, bool) {
	s := l.s
	sp := false
	for l.i < len(s) {
		i := l.i
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ')': // ')' stray
			sp = true
			l.i++
		case c == '(':
			j, depth := i+1, 1
			var b strings.Builder
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '\\':
					if j+1 < len(s) {
						j++
					}
				case '(':
					depth++
				case ')':
					depth--
					if depth == 0 {
						continue
					}
				}
				b.WriteByte(s[j])
			}
			l.i = j
			return addrTok{kind: tokComment, text: strings.TrimSpace(b.String()), sp: sp}, true
		case c == '"' && l.unterminated:
			l.i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				// Unterminated: read on as if the quote were not there.
				l.unterminated = true
				l.i++
				continue
			}
			l.i = j + 1
			return addrTok{kind: tokQuoted, text: unquote(s[i : j+1]), sp: sp}, true
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				j = len(s) - 1 - i
			}
			l.i = i + j + 1
			return addrTok{kind: tokAtom, text: s[i : i+j+1], sp: sp}, true
		case strings.IndexByte("<>@,;:", c) >= 0:
			l.i++
			return addrTok{kind: tokSpecial, text: s[i : i+1], sp: sp}, true
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()\"[<>@,;:", s[j]) < 0 {
				j++
			}
			l.i = j
			return addrTok{kind: tokAtom, text: s[i:j], sp: sp}, true
		}
	}
	return addrTok{}, false
}

func (t addrTok) is(special byte) bool {
	return t.kind == tokSpecial && t.text[0] == special
}

// parseAddressesLax is the tolerant address-list parser.
func parseAddressesLax(s string) []Address {
	lx := addrLexer{s: s}
	var out []Address
	var item []addrTok
	// inGroup: between a group's ":" and ";". marked: its start marker was
	// written (a group without a name gets no markers, as an empty
	// Mailbox would make its start look like an end).
	inGroup, marked := false, false
	for more := true; more && len(out) < MaxAddresses; {
		// One item runs to a ",", ";" or group ":" outside angle brackets.
		item = item[:0]
		var term addrTok
		angle := false
		for {
			t, ok := lx.next()
			if !ok {
				more = false
				break
			}
			if angle {
				angle = !t.is('>')
			} else if t.is('<') {
				angle = true
			} else if t.is(',') || t.is(';') || (t.is(':') && !inGroup && groupName(item)) {
				term = t
				break
			}
			item = append(item, t)
		}
		switch {
		case term.is(':'):
			inGroup = true
			if name := phrase(item); name != "" {
				out = append(out, Address{Mailbox: name})
				marked = true
			}
		default:
			if a, ok := mailbox(item); ok {
				out = append(out, a)
			}
			if term.is(';') && inGroup {
				if marked {
					out = append(out, Address{})
				}
				inGroup, marked = false, false
			}
		}
	}
	return closeList(out)
}

// closeList cuts l to MaxAddresses entries and closes a group left open.
func closeList(l []Address) []Address {
	if len(l) > MaxAddresses {
		l = l[:MaxAddresses]
	}
	if openGroup(l) {
		if len(l) == MaxAddresses {
			l = l[:MaxAddresses-1] // room for the end marker
			if !openGroup(l) {
				return l
			}
		}
		l = append(l, Address{})
	}
	return l
}

// openGroup reports whether l ends inside a group.
func openGroup(l []Address) bool {
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Host == "" {
			return l[i].IsGroupStart()
		}
	}
	return false
}

// groupName reports whether the tokens before a ":" can be a group's
// display name: words only (so "<@route:" and "a@b:" are not groups).
func groupName(item []addrTok) bool {
	words := 0
	for _, t := range item {
		switch t.kind {
		case tokAtom, tokQuoted:
			words++
		case tokSpecial:
			return false
		}
	}
	return words > 0
}

// phrase joins the words of a display name (comments dropped) and decodes
// it to UTF-8.
func phrase(toks []addrTok) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind == tokComment || t.kind == tokSpecial && !t.is('@') {
			continue
		}
		if b.Len() > 0 && t.sp {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return DecodeHeader(b.String())
}

// joinTokens concatenates token texts without blanks (a local part or a
// domain written with stray spaces around its dots).
func joinTokens(toks []addrTok) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind != tokComment {
			b.WriteString(t.text)
		}
	}
	return guessUTF8([]byte(b.String()))
}

// mailbox parses one "name <route:local@domain>" or "local@domain (name)".
func mailbox(item []addrTok) (Address, bool) {
	words := 0
	lastComment := ""
	for _, t := range item {
		switch t.kind {
		case tokAtom, tokQuoted:
			words++
		case tokComment:
			if t.text != "" {
				lastComment = t.text
			}
		}
	}
	for k, t := range item {
		if t.is('<') {
			end := len(item)
			for e := k + 1; e < len(item); e++ {
				if item[e].is('>') {
					end = e
					break
				}
			}
			a := angleAddr(item[k+1 : end])
			a.Name = phrase(item[:k])
			return a, true
		}
	}
	if words == 0 {
		return Address{}, false
	}
	at := -1
	for k, t := range item {
		if t.is('@') {
			at = k
			break
		}
	}
	if at < 0 {
		if words == 1 {
			for _, t := range item {
				if t.kind == tokAtom || t.kind == tokQuoted {
					a := Address{Mailbox: guessUTF8([]byte(t.text))}
					fixMissing(&a)
					return a, true
				}
			}
		}
		return Address{Name: phrase(item), Mailbox: MissingMailbox, Host: MissingDomain}, true
	}
	// The addr-spec is the run of tokens glued to the "@"; words before it
	// are a display name written without angle brackets.
	l := at
	for l > 0 && item[l-1].kind != tokComment && item[l-1].kind != tokSpecial && !item[l].sp {
		l--
	}
	r := at + 1
	for r < len(item) && item[r].kind != tokComment && item[r].kind != tokSpecial && (r == at+1 || !item[r].sp) {
		r++
	}
	a := Address{Mailbox: joinTokens(item[l:at]), Host: joinTokens(item[at+1 : r])}
	fixMissing(&a)
	if name := phrase(item[:l]); name != "" {
		a.Name = name
	} else if lastComment != "" {
		a.Name = DecodeHeader(lastComment)
	}
	return a, true
}

// angleAddr parses the inside of "<...>": an optional obsolete route
// "@a,@b:" and an addr-spec.
func angleAddr(toks []addrTok) Address {
	var a Address
	if len(toks) > 0 && toks[0].is('@') {
		for k, t := range toks {
			if t.is(':') {
				var b strings.Builder
				for _, r := range toks[:k] {
					if r.kind != tokComment {
						b.WriteString(r.text)
					}
				}
				a.Route = b.String()
				toks = toks[k+1:]
				break
			}
		}
	}
	at := -1
	for k, t := range toks {
		if t.is('@') {
			at = k
		}
	}
	if at < 0 {
		a.Mailbox = joinTokens(toks)
	} else {
		a.Mailbox, a.Host = joinTokens(toks[:at]), joinTokens(toks[at+1:])
	}
	fixMissing(&a)
	return a
}

// fixMissing fills the placeholders for a missing local part or domain.
func fixMissing(a *Address) {
	if a.Mailbox == "" {
		a.Mailbox = MissingMailbox
	}
	if a.Host == "" {
		a.Host = MissingDomain
	}
}
