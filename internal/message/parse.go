package message

import (
	"bytes"
	"strings"
)

// Parse parses a whole message (header and body, any line endings) into its
// structure. It never fails: on malformed input it returns a best-effort
// structure (see the package documentation). Offsets in the result refer to
// msg.
func Parse(msg []byte) *Structure {
	p := parser{msg: msg}
	s := &Structure{Root: p.entity(0, len(msg), false, 0)}
	s.HeaderSize = s.Root.BodyStart - s.Root.HeaderStart
	f := scanEnvelopeFields(msg[:s.Root.BodyStart])
	s.Envelope = f.envelope()
	s.Date, _ = ParseDate(f.value(fDate))
	s.References = f.references()
	return s
}

// parser holds the state of one Parse call.
type parser struct {
	msg   []byte
	parts int // parts created so far, bounded by MaxParts
}

// contentFields are the Content-* fields of one MIME header (the first of
// each; RFC 2045 allows one).
type contentFields struct {
	typ, encoding, id, description  string
	disposition, language, location string
	md5                             string
	hasType                         bool // a Content-Type field is present
}

func scanContentFields(hdr []byte) contentFields {
	var c contentFields
	var seen [8]bool
	it := fieldIter{b: hdr}
	for {
		name, raw, ok := it.next()
		if !ok {
			return c
		}
		if len(name) < 8 || !equalFold(name[:8], "content-") {
			continue
		}
		var dst *string
		k := -1
		switch rest := name[8:]; {
		case equalFold(rest, "type"):
			dst, k = &c.typ, 0
			c.hasType = true
		case equalFold(rest, "transfer-encoding"):
			dst, k = &c.encoding, 1
		case equalFold(rest, "id"):
			dst, k = &c.id, 2
		case equalFold(rest, "description"):
			dst, k = &c.description, 3
		case equalFold(rest, "disposition"):
			dst, k = &c.disposition, 4
		case equalFold(rest, "language"):
			dst, k = &c.language, 5
		case equalFold(rest, "location"):
			dst, k = &c.location, 6
		case equalFold(rest, "md5"):
			dst, k = &c.md5, 7
		}
		if k >= 0 && !seen[k] {
			seen[k] = true
			*dst = fieldValue(raw)
		}
	}
}

// defaultTextParams is the RFC 2045 §5.2 default for a part without a
// usable Content-Type.
func defaultTextParams() [][2]string { return [][2]string{{"charset", "us-ascii"}} }

// entity parses the entity (header and body) in msg[start:end].
func (p *parser) entity(start, end int, inDigest bool, depth int) Part {
	p.parts++
	bodyStart := scanHeader(p.msg, start, end)
	part := Part{HeaderStart: int64(start), BodyStart: int64(bodyStart), End: int64(end)}
	c := scanContentFields(p.msg[start:bodyStart])

	typ, sub, params, ok := parseMediaType(c.typ)
	if !c.hasType || !ok {
		// RFC 2045 §5.2 and RFC 2046 §5.1.5 defaults.
		if inDigest {
			typ, sub, params = "message", "rfc822", nil
		} else {
			typ, sub, params = "text", "plain", defaultTextParams()
		}
	}
	part.Type, part.Subtype, part.Params = typ, sub, params
	part.Encoding = "7BIT"
	if e := firstWord(stripComments(c.encoding)); e != "" {
		part.Encoding = strings.ToUpper(e)
	}
	part.ID = c.id
	part.Description = c.description
	if c.disposition != "" {
		part.Disposition, part.DispositionParams = parseDisposition(c.disposition)
	}
	part.Language = parseLanguage(c.language)
	part.Location = c.location
	part.MD5 = c.md5

	switch {
	case typ == "multipart":
		if depth < MaxDepth {
			part.Parts = p.multipart(bodyStart, end, paramValue(params, "boundary"), sub == "digest", depth+1)
		}
		if len(part.Parts) == 0 {
			asText(&part)
		}
	case isMessageType(typ, sub) && identityEncoding(part.Encoding) && depth < MaxDepth && p.parts < MaxParts:
		child := p.entity(bodyStart, end, false, depth+1)
		f := scanEnvelopeFields(p.msg[child.HeaderStart:child.BodyStart])
		env := f.envelope()
		part.Envelope = &env
		part.Parts = []Part{child}
	}
	if part.Type == "text" || isMessageType(part.Type, part.Subtype) {
		part.Lines = int64(bytes.Count(p.msg[bodyStart:end], []byte{'\n'}))
	}
	return part
}

// isMessageType reports the media types that enclose a whole message and
// have an ENVELOPE in BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 6532 §3.7).
func isMessageType(typ, sub string) bool {
	return typ == "message" && (sub == "rfc822" || sub == "global")
}

// asText turns a multipart whose parts cannot be found into a text/plain
// leaf, so that its content stays readable as the body of one part.
func asText(part *Part) {
	part.Type, part.Subtype = "text", "plain"
	var params [][2]string
	for _, kv := range part.Params {
		if kv[0] != "boundary" {
			params = append(params, kv)
		}
	}
	if paramValue(params, "charset") == "" {
		params = append(defaultTextParams(), params...)
	}
	part.Params = params
	part.Parts = nil
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t;"); i >= 0 {
		s = s[:i]
	}
	return s
}

func parseLanguage(v string) []string {
	var out []string
	for _, t := range strings.Split(stripComments(v), ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// multipart parses the parts of a multipart body in msg[start:end]. It
// returns nil when none can be found.
func (p *parser) multipart(start, end int, boundary string, digest bool, depth int) []Part {
	if boundary == "" {
		return nil
	}
	budget := MaxParts - p.parts
	if budget <= 0 {
		return nil
	}
	spans, found := findParts(p.msg, start, end, boundary, false, budget)
	if !found {
		// Tolerance, in order: a boundary parameter with trailing blanks
		// (not allowed, RFC 2046 §5.1.1) used without them, then boundary
		// lines with junk after the boundary (Dovecot matches a prefix).
		if t := strings.TrimRight(boundary, " \t"); t != boundary && t != "" {
			spans, found = findParts(p.msg, start, end, t, false, budget)
		}
		if !found {
			spans, _ = findParts(p.msg, start, end, boundary, true, budget)
		}
	}
	var parts []Part
	for _, sp := range spans {
		if p.parts >= MaxParts {
			break
		}
		parts = append(parts, p.entity(sp[0], sp[1], digest, depth))
	}
	return parts
}

// findParts finds the body parts of a multipart in msg[start:end] delimited
// by boundary (RFC 2046 §5.1.1): a delimiter line is "--" boundary, then
// "--" for the last one, then optional blanks. The line break before a
// delimiter belongs to the delimiter, not to the part. With lax, anything may
// follow the boundary on its line. At most limit spans are returned; found
// reports whether any delimiter line was seen. Without a close delimiter the
// last part runs to end.
func findParts(msg []byte, start, end int, boundary string, lax bool, limit int) (spans [][2]int, found bool) {
	delim := []byte("--" + boundary)
	cur := -1 // start of the current part; -1 in the preamble
	pos := start
	for pos < end && len(spans) < limit {
		i := bytes.Index(msg[pos:end], delim)
		if i < 0 {
			break
		}
		ls := pos + i
		if ls != start && msg[ls-1] != '\n' {
			pos = ls + 1 // not at the start of a line
			continue
		}
		ce, next := lineEnd(msg, ls, end)
		rest := msg[ls+len(delim) : ce]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		if !lax && len(bytes.Trim(rest, " \t")) != 0 {
			pos = next
			continue
		}
		found = true
		if cur >= 0 {
			e := ls
			if e > cur && msg[e-1] == '\n' {
				e--
				if e > cur && msg[e-1] == '\r' {
					e--
				}
			}
			spans = append(spans, [2]int{cur, e})
		}
		if closing {
			return spans, true
		}
		cur, pos = next, next
	}
	if cur >= 0 && len(spans) < limit {
		spans = append(spans, [2]int{cur, end})
	}
	return spans, found
}
