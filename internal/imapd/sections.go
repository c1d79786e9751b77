package imapd

import (
	"errors"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
)

// errNoPart is a section naming a part the message does not have.
var errNoPart = errors.New("no such part")

// stored is one message as read for FETCH: the stored bytes (per-copy
// prefix, then the shared body) and the structure computed at delivery,
// whose offsets are relative to the body.
type stored struct {
	msg       []byte
	prefixLen int
	st        *message.Structure
}

func (m *stored) body() []byte { return m.msg[m.prefixLen:] }

// slice returns body[start:end], clamped.
func (m *stored) slice(start, end int64) []byte {
	body := m.body()
	n := int64(len(body))
	start, end = min(max(start, 0), n), min(max(end, 0), n)
	if start > end {
		return nil
	}
	return body[start:end]
}

// findPart walks a section's part numbers (RFC 9051 §6.4.5): the parts
// of a multipart are numbered from 1; a message that is not multipart has
// one part, 1, its body; a message/rfc822 part's numbers are those of the
// message it encloses. It returns the part and whether it is the root of
// an (enclosed or top-level) message.
func findPart(root *message.Part, path []int) (*message.Part, error) {
	cur, isMsg := root, true
	for _, n := range path {
		if !isMsg && isEncapsulated(cur) {
			cur, isMsg = &cur.Parts[0], true
		}
		if isMsg && !isMultipart(cur) {
			if n != 1 {
				return nil, errNoPart
			}
			isMsg = false
			continue
		}
		if !isMultipart(cur) || n > len(cur.Parts) {
			return nil, errNoPart
		}
		cur, isMsg = &cur.Parts[n-1], false
	}
	return cur, nil
}

// section returns the bytes a BODY[section] names.
func (m *stored) section(sec imapwire.Section) ([]byte, error) {
	if len(sec.Part) == 0 {
		root := &m.st.Root
		// The top-level header includes the per-copy prefix (Return-Path,
		// Delivered-To), which is part of the stored message.
		header := m.msg[:m.prefixLen+int(min(max(root.BodyStart, 0), int64(len(m.body()))))]
		switch sec.Specifier {
		case "":
			return m.msg, nil
		case "HEADER":
			return header, nil
		case "HEADER.FIELDS":
			return message.HeaderFields(header, sec.Fields, false), nil
		case "HEADER.FIELDS.NOT":
			return message.HeaderFields(header, sec.Fields, true), nil
		case "TEXT":
			return m.slice(root.BodyStart, root.End), nil
		}
		return nil, errNoPart
	}
	p, err := findPart(&m.st.Root, sec.Part)
	if err != nil {
		return nil, err
	}
	switch sec.Specifier {
	case "":
		return m.slice(p.BodyStart, p.End), nil
	case "MIME":
		return m.slice(p.HeaderStart, p.BodyStart), nil
	}
	// HEADER, TEXT, HEADER.FIELDS[.NOT] of a part: of the message it
	// encloses, if it is a message/rfc822.
	if !isEncapsulated(p) {
		return nil, errNoPart
	}
	inner := &p.Parts[0]
	header := m.slice(inner.HeaderStart, inner.BodyStart)
	switch sec.Specifier {
	case "HEADER":
		return header, nil
	case "HEADER.FIELDS":
		return message.HeaderFields(header, sec.Fields, false), nil
	case "HEADER.FIELDS.NOT":
		return message.HeaderFields(header, sec.Fields, true), nil
	case "TEXT":
		return m.slice(inner.BodyStart, inner.End), nil
	}
	return nil, errNoPart
}

// binary returns a BINARY[section]: the part's content with its
// Content-Transfer-Encoding removed (RFC 3516 §4.2).
func (m *stored) binary(sec imapwire.Section) ([]byte, error) {
	if len(sec.Part) == 0 {
		return m.msg, nil
	}
	p, err := findPart(&m.st.Root, sec.Part)
	if err != nil {
		return nil, err
	}
	if isMultipart(p) || isEncapsulated(p) {
		return m.slice(p.BodyStart, p.End), nil
	}
	return p.Decoded(m.body())
}
