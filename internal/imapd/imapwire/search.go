package imapwire

import (
	"strings"
	"time"
)

// SearchRequest is SEARCH's arguments.
type SearchRequest struct {
	// Return holds RFC 4731 ESEARCH return options (upper-case: MIN, MAX,
	// ALL, COUNT, SAVE); HasReturn is set when "RETURN (...)" was given,
	// even empty (which means ALL).
	Return    []string
	HasReturn bool
	Charset   string
	Key       *SearchKey // an AND of the top-level keys
}

// SearchKey is one search criterion (RFC 9051 §6.4.4). Op is one of:
// "AND" (Children), "OR" (two Children), "NOT" (one Child), "ALL",
// "SEQ" / "UID" (Seq), "FLAG" / "UNFLAG" (Flag: `\Seen`, keyword ...),
// "HEADER" (Field, Value: BCC CC FROM SUBJECT TO become HEADER),
// "BODY" / "TEXT" (Value), "BEFORE" / "ON" / "SINCE" / "SENTBEFORE" /
// "SENTON" / "SENTSINCE" (Date), "LARGER" / "SMALLER" (N),
// "MODSEQ" (N), "NEW", "OLD", "RECENT".
type SearchKey struct {
	Op       string
	Children []*SearchKey
	Seq      SeqSet
	Flag     string
	Field    string // upper-case header name
	// Envelope is set on the HEADER keys written as BCC, CC, FROM,
	// SUBJECT or TO, which RFC 9051 §6.4.4 defines on the envelope's
	// field rather than on the header.
	Envelope bool
	Value    string
	Date     time.Time
	N        uint64
}

// flagKeys map search keys to the flag they test (RFC 9051 §6.4.4).
var flagKeys = map[string]struct {
	flag string
	set  bool
}{
	"ANSWERED": {`\Answered`, true}, "DELETED": {`\Deleted`, true}, "DRAFT": {`\Draft`, true},
	"FLAGGED": {`\Flagged`, true}, "SEEN": {`\Seen`, true},
	"UNANSWERED": {`\Answered`, false}, "UNDELETED": {`\Deleted`, false}, "UNDRAFT": {`\Draft`, false},
	"UNFLAGGED": {`\Flagged`, false}, "UNSEEN": {`\Seen`, false},
}

func (p *parser) searchArgs() (*SearchRequest, error) {
	sr := &SearchRequest{}
	if err := p.sp(); err != nil {
		return nil, err
	}
	if p.peekWord("RETURN") {
		p.pos += 6
		if err := p.sp(); err != nil {
			return nil, err
		}
		opts, err := p.atomList(true)
		if err != nil {
			return nil, err
		}
		sr.Return, sr.HasReturn = opts, true
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
	if p.peekWord("CHARSET") {
		p.pos += 7
		if err := p.sp(); err != nil {
			return nil, err
		}
		cs, err := p.astring()
		if err != nil {
			return nil, err
		}
		sr.Charset = strings.ToUpper(string(cs))
		if err := p.sp(); err != nil {
			return nil, err
		}
	}
	var err error
	sr.Key, err = p.searchKeys()
	return sr, err
}

// searchKeys reads search-key *(SP search-key) as one AND.
func (p *parser) searchKeys() (*SearchKey, error) {
	and := &SearchKey{Op: "AND"}
	for {
		k, err := p.searchKey()
		if err != nil {
			return nil, err
		}
		and.Children = append(and.Children, k)
		if len(and.Children) > 1000 {
			return nil, errSyntax("too many search keys")
		}
		if !p.maybeSP() {
			break
		}
	}
	return and, nil
}

func (p *parser) searchKey() (*SearchKey, error) {
	if p.peek() == '(' {
		k := &SearchKey{Op: "AND"}
		err := p.list(false, func() error {
			c, err := p.searchKey()
			k.Children = append(k.Children, c)
			return err
		})
		return k, err
	}
	if p.isSeqSetStart() {
		s, err := p.seqSet()
		return &SearchKey{Op: "SEQ", Seq: s}, err
	}
	name := strings.ToUpper(p.word(nil))
	if name == "" {
		return nil, errSyntax("expected a search key")
	}
	if f, ok := flagKeys[name]; ok {
		op := "FLAG"
		if !f.set {
			op = "UNFLAG"
		}
		return &SearchKey{Op: op, Flag: f.flag}, nil
	}
	k := &SearchKey{Op: name}
	var err error
	switch name {
	case "ALL", "NEW", "OLD", "RECENT":
		return k, nil
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		k.Op, k.Field, k.Envelope = "HEADER", name, true
		err = p.searchValue(k)
	case "BODY", "TEXT":
		err = p.searchValue(k)
	case "HEADER":
		if err = p.sp(); err != nil {
			return nil, err
		}
		var f []byte
		if f, err = p.astring(); err != nil {
			return nil, err
		}
		k.Field = strings.ToUpper(string(f))
		err = p.searchValue(k)
	case "KEYWORD", "UNKEYWORD":
		k.Op = "FLAG"
		if name == "UNKEYWORD" {
			k.Op = "UNFLAG"
		}
		if err = p.sp(); err != nil {
			return nil, err
		}
		k.Flag, err = p.flag()
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		if err = p.sp(); err != nil {
			return nil, err
		}
		k.Date, err = p.date()
	case "LARGER", "SMALLER":
		if err = p.sp(); err != nil {
			return nil, err
		}
		k.N, err = p.number64()
	case "UID":
		if err = p.sp(); err != nil {
			return nil, err
		}
		k.Seq, err = p.seqSet()
	case "NOT":
		if err = p.sp(); err != nil {
			return nil, err
		}
		if err = p.nest(); err != nil {
			return nil, err
		}
		var c *SearchKey
		c, err = p.searchKey()
		p.depth--
		k.Children = []*SearchKey{c}
	case "OR":
		if err = p.nest(); err != nil {
			return nil, err
		}
		for range 2 {
			if err = p.sp(); err != nil {
				return nil, err
			}
			var c *SearchKey
			if c, err = p.searchKey(); err != nil {
				return nil, err
			}
			k.Children = append(k.Children, c)
		}
		p.depth--
	case "MODSEQ":
		// RFC 7162 §3.1.5: MODSEQ [entry-name entry-type] mod-sequence-valzer.
		if err = p.sp(); err != nil {
			return nil, err
		}
		if p.peek() == '"' {
			if _, err = p.quoted(); err != nil {
				return nil, err
			}
			if err = p.sp(); err != nil {
				return nil, err
			}
			if t := strings.ToLower(p.word(nil)); t != "all" && t != "shared" && t != "priv" {
				return nil, errSyntax("bad MODSEQ entry type")
			}
			if err = p.sp(); err != nil {
				return nil, err
			}
		}
		k.N, err = p.number64()
	default:
		return nil, errSyntax("unknown search key %s", name)
	}
	return k, err
}

// nest counts NOT and OR in the nesting bound, as they recurse too.
func (p *parser) nest() error {
	p.depth++
	if p.depth > p.maxDepth {
		return errSyntax("search nesting too deep")
	}
	return nil
}

func (p *parser) searchValue(k *SearchKey) error {
	if err := p.sp(); err != nil {
		return err
	}
	b, err := p.astring()
	k.Value = string(b)
	return err
}
