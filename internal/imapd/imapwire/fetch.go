package imapwire

import (
	"strconv"
	"strings"
)

// FetchRequest is FETCH's attributes and modifiers.
type FetchRequest struct {
	Items []FetchItem
	// ChangedSince is RFC 7162's CHANGEDSINCE modifier (0 when absent).
	ChangedSince    uint64
	HasChangedSince bool
	Vanished        bool
}

// FetchItem is one fetch attribute. Name is upper-case and without its
// section: "ENVELOPE", "FLAGS", "BODY" (BODY[...]), "BINARY",
// "BINARY.SIZE", "BODYSTRUCTURE", "BODY.STRUCTURE" (plain BODY), ...
type FetchItem struct {
	Name    string
	Peek    bool
	Section Section
	// Partial is <offset.count>; Count is -1 when absent.
	Offset  int64
	Count   int64
	Partial bool
}

// Section is a body section spec (RFC 9051 §6.4.5).
type Section struct {
	Part      []int    // 1-based part numbers; empty for the whole message
	Specifier string   // "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
	Fields    []string // for HEADER.FIELDS[.NOT]
}

// String writes the section as it goes between brackets in a response.
func (s Section) String() string {
	var b strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// ResponseName is how the item is named in the FETCH response, e.g.
// "BODY[1.HEADER]<0>" (RFC 9051 §7.5.2: only the origin octet is given).
func (it FetchItem) ResponseName() string {
	switch it.Name {
	case "BODY", "BINARY", "BINARY.SIZE":
		s := it.Name + "[" + it.Section.String() + "]"
		if it.Partial && it.Name != "BINARY.SIZE" {
			s += "<" + strconv.FormatInt(it.Offset, 10) + ">"
		}
		return s
	case "BODY.STRUCTURE":
		return "BODY"
	}
	return it.Name
}

// macros of RFC 9051 §6.4.5.
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY.STRUCTURE"},
}

func (p *parser) fetchArgs() (*FetchRequest, error) {
	fr := &FetchRequest{}
	if p.peek() == '(' {
		if err := p.list(false, func() error {
			it, err := p.fetchItem()
			fr.Items = append(fr.Items, it)
			return err
		}); err != nil {
			return nil, err
		}
	} else {
		w := strings.ToUpper(p.fetchName())
		if m, ok := fetchMacros[w]; ok {
			for _, n := range m {
				fr.Items = append(fr.Items, FetchItem{Name: n, Count: -1})
			}
		} else {
			p.pos -= len(w)
			it, err := p.fetchItem()
			if err != nil {
				return nil, err
			}
			fr.Items = append(fr.Items, it)
		}
	}
	if p.maybeSP() {
		// RFC 4466 fetch-modifiers; RFC 7162 CHANGEDSINCE, VANISHED.
		err := p.list(false, func() error {
			switch {
			case p.peekWord("CHANGEDSINCE"):
				p.pos += len("CHANGEDSINCE")
				if err := p.sp(); err != nil {
					return err
				}
				n, err := p.number64()
				fr.ChangedSince, fr.HasChangedSince = n, true
				return err
			case p.peekWord("VANISHED"):
				p.pos += len("VANISHED")
				fr.Vanished = true
				return nil
			}
			return errSyntax("unknown FETCH modifier")
		})
		if err != nil {
			return nil, err
		}
	}
	return fr, nil
}

func (p *parser) fetchItem() (FetchItem, error) {
	it := FetchItem{Count: -1}
	name := strings.ToUpper(p.fetchName())
	switch name {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "UID", "BODYSTRUCTURE", "MODSEQ", "SAVEDATE", "EMAILID", "THREADID":
		it.Name = name
		return it, nil
	case "RFC822":
		// RFC 3501 §6.4.5: RFC822 is BODY[] (sets \Seen).
		it.Name = "RFC822"
		return it, nil
	case "RFC822.HEADER":
		it.Name = "RFC822.HEADER" // BODY.PEEK[HEADER]
		return it, nil
	case "RFC822.TEXT":
		it.Name = "RFC822.TEXT" // BODY[TEXT]
		return it, nil
	case "BODY":
		if p.peek() != '[' {
			it.Name = "BODY.STRUCTURE"
			return it, nil
		}
		it.Name = "BODY"
	case "BODY.PEEK":
		it.Name, it.Peek = "BODY", true
	case "BINARY":
		it.Name = "BINARY"
	case "BINARY.PEEK":
		it.Name, it.Peek = "BINARY", true
	case "BINARY.SIZE":
		it.Name = "BINARY.SIZE"
	default:
		return it, errSyntax("unknown fetch attribute %q", name)
	}
	if err := p.expect('['); err != nil {
		return it, err
	}
	sec, err := p.section(it.Name != "BODY")
	if err != nil {
		return it, err
	}
	it.Section = sec
	if err := p.expect(']'); err != nil {
		return it, err
	}
	if p.peek() == '<' && it.Name != "BINARY.SIZE" {
		p.pos++
		off, err := p.number()
		if err != nil {
			return it, err
		}
		if err := p.expect('.'); err != nil {
			return it, err
		}
		n, err := p.nzNumber()
		if err != nil {
			return it, err
		}
		if err := p.expect('>'); err != nil {
			return it, err
		}
		it.Partial, it.Offset, it.Count = true, int64(off), int64(n)
	}
	return it, nil
}

// section reads what is between the brackets. For BINARY only part
// numbers are allowed (RFC 3516 section-binary).
func (p *parser) section(binary bool) (Section, error) {
	var s Section
	for {
		c := p.peek()
		if c < '1' || c > '9' {
			break
		}
		n, err := p.nzNumber()
		if err != nil {
			return s, err
		}
		if len(s.Part) >= 100 {
			return s, errSyntax("section too deep")
		}
		s.Part = append(s.Part, int(n))
		if p.peek() != '.' {
			return s, nil
		}
		p.pos++
	}
	if p.peek() == ']' {
		if len(s.Part) > 0 {
			return s, errSyntax("bad section")
		}
		return s, nil
	}
	if binary {
		return s, errSyntax("bad BINARY section")
	}
	spec := strings.ToUpper(p.word(nil))
	switch spec {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Part) == 0 {
			return s, errSyntax("MIME needs a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := p.sp(); err != nil {
			return s, err
		}
		err := p.list(false, func() error {
			f, err := p.astring()
			if err == nil && len(f) == 0 {
				err = errSyntax("empty header field name")
			}
			s.Fields = append(s.Fields, strings.ToUpper(string(f)))
			return err
		})
		if err != nil {
			return s, err
		}
	default:
		return s, errSyntax("bad section %q", spec)
	}
	s.Specifier = spec
	return s, nil
}

// fetchName reads a fetch attribute name, which ends before "[" or "<".
func (p *parser) fetchName() string {
	return p.word2(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' })
}
