package message

import (
	"bytes"
	"strings"
)

// Field is one header field.
type Field struct {
	Name  string // as written, without the colon and trailing blanks
	Value string // unfolded (line breaks removed) and trimmed, not decoded
	// Raw is the field as stored: name, colon, value and continuation
	// lines, with their line endings.
	Raw []byte
}

// lineEnd returns, for the line starting at i in b[:end], the end of its
// content (before CRLF or LF) and the start of the next line.
func lineEnd(b []byte, i, end int) (contentEnd, next int) {
	j := bytes.IndexByte(b[i:end], '\n')
	if j < 0 {
		return end, end
	}
	next = i + j + 1
	contentEnd = i + j
	if contentEnd > i && b[contentEnd-1] == '\r' {
		contentEnd--
	}
	return contentEnd, next
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// fieldNameEnd returns the length of the field name if line starts a header
// field ("Name:" or the obsolete "Name :"), or -1.
func fieldNameEnd(line []byte) int {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return -1
	}
	n := i
	for i < len(line) && isWSP(line[i]) {
		i++
	}
	if i < len(line) && line[i] == ':' {
		return n
	}
	return -1
}

// scanHeader finds where the header of the entity in msg[start:end] ends and
// returns the offset of its body: just after the blank line, or, for a
// header without one, the first line that cannot belong to a header (or end).
//
// Tolerance: a line that is neither a field nor a continuation is taken as
// a continuation of the previous field when the next line is a field again
// (a value wrapped without indentation, seen in the wild); otherwise it is
// the first line of the body. The same holds for a first line that is an
// mbox "From " line or only blanks. An indented first field is a field. Any
// other first line means the entity has no header at all.
func scanHeader(msg []byte, start, end int) int {
	for i := start; i < end; {
		ce, next := lineEnd(msg, i, end)
		line := msg[i:ce]
		switch {
		case len(line) == 0:
			return next
		case i != start && isWSP(line[0]), fieldNameEnd(line) > 0:
			// A continuation or a field.
		case i == start && fieldNameEnd(bytes.TrimLeft(line, " \t")) > 0:
			// An indented first field.
		case i == start && !(bytes.HasPrefix(line, []byte("From ")) || len(bytes.Trim(line, " \t")) == 0):
			return start // prose: no header
		default:
			if next >= end {
				return i
			}
			nce, _ := lineEnd(msg, next, end)
			if fieldNameEnd(msg[next:nce]) < 0 {
				return i
			}
		}
		i = next
	}
	return end
}

// fieldIter walks the fields of a header block. Lines that do not start a
// field are continuations of the previous one (see scanHeader); a blank
// line ends the block.
type fieldIter struct {
	b   []byte
	pos int
}

// next returns the next field: its name, its raw bytes (with line endings)
// and whether there was one.
func (it *fieldIter) next() (name, raw []byte, ok bool) {
	for it.pos < len(it.b) {
		start := it.pos
		ce, nx := lineEnd(it.b, start, len(it.b))
		if start == 0 {
			// An indented first field (see scanHeader).
			for start < ce && isWSP(it.b[start]) {
				start++
			}
		}
		line := it.b[start:ce]
		if len(line) == 0 && ce > it.pos {
			line = it.b[it.pos:ce] // a line of blanks: junk, not the end
		}
		if len(line) == 0 {
			it.pos = len(it.b)
			return nil, nil, false
		}
		n := fieldNameEnd(line)
		it.pos = nx
		for it.pos < len(it.b) {
			c2, n2 := lineEnd(it.b, it.pos, len(it.b))
			l2 := it.b[it.pos:c2]
			if len(l2) == 0 || (!isWSP(l2[0]) && fieldNameEnd(l2) > 0) {
				break
			}
			it.pos = n2
		}
		if n < 0 {
			continue // junk before the first field
		}
		return line[:n], it.b[start:it.pos], true
	}
	return nil, nil, false
}

// fieldValue returns the value of a raw field: after the colon, unfolded
// (CR and LF removed, other white space kept, RFC 5322 §2.2.3) and trimmed.
// A continuation line without leading white space (see scanHeader) is
// joined with a space.
func fieldValue(raw []byte) string {
	i := bytes.IndexByte(raw, ':')
	if i < 0 {
		return ""
	}
	v := raw[i+1:]
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(bytes.Trim(v, " \t"))
	}
	out := make([]byte, 0, len(v))
	for k, c := range v {
		switch {
		case c == '\n':
			if k+1 < len(v) && !isWSP(v[k+1]) {
				out = append(out, ' ')
			}
		case c != '\r':
			out = append(out, c)
		}
	}
	return string(bytes.Trim(out, " \t"))
}

// Fields returns the fields of a header block (for example Part.Header's
// result) in order.
func Fields(header []byte) []Field {
	var out []Field
	it := fieldIter{b: header}
	for {
		name, raw, ok := it.next()
		if !ok {
			return out
		}
		out = append(out, Field{Name: string(name), Value: fieldValue(raw), Raw: raw})
	}
}

// Get returns the unfolded, trimmed value of the first field called name
// (case-insensitive) in a header block, and whether there is one.
func Get(header []byte, name string) (string, bool) {
	it := fieldIter{b: header}
	for {
		n, raw, ok := it.next()
		if !ok {
			return "", false
		}
		if equalFold(n, name) {
			return fieldValue(raw), true
		}
	}
}

// equalFold compares an ASCII field name case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// HeaderFields returns the fields of a header block whose names are in
// names (ASCII case-insensitive), or with exclude those whose names are
// not, in their original order and with their continuation lines, followed
// by the blank line that ends the block if it has one. It serves IMAP
// BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)] (RFC 9051
// §6.4.5: the delimiting blank line is included in all header fetches).
func HeaderFields(header []byte, names []string, exclude bool) []byte {
	var out []byte
	it := fieldIter{b: header}
	for {
		name, raw, ok := it.next()
		if !ok {
			break
		}
		match := false
		for _, n := range names {
			if equalFold(name, n) {
				match = true
				break
			}
		}
		if match != exclude {
			out = append(out, raw...)
		}
	}
	return append(out, blankLine(header)...)
}

// blankLine returns the blank line that ends a header block, or nil.
func blankLine(h []byte) []byte {
	n := len(h)
	if n == 0 || h[n-1] != '\n' {
		return nil
	}
	last := h[bytes.LastIndexByte(h[:n-1], '\n')+1:]
	if len(last) == 1 || (len(last) == 2 && last[0] == '\r') {
		return last
	}
	return nil
}

// unquote returns the content of an RFC 5322 quoted-string with its
// backslash escapes removed; an unterminated one runs to the end. Text that
// does not start with a quote is returned as is.
func unquote(s string) string {
	if len(s) == 0 || s[0] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
