package message

// span returns msg[a:b], clamped to msg so that a Structure applied to the
// wrong bytes cannot panic.
func span(msg []byte, a, b int64) []byte {
	n := int64(len(msg))
	a, b = max(0, min(a, n)), max(0, min(b, n))
	if a > b {
		return nil
	}
	return msg[a:b:b]
}

// Header returns the part's header bytes, including the blank line that
// ends it (IMAP BODY[n.MIME]; for the root part or the root of an enclosed
// message, BODY[HEADER] and BODY[n.HEADER]).
func (p *Part) Header(msg []byte) []byte { return span(msg, p.HeaderStart, p.BodyStart) }

// Body returns the part's body bytes as stored, still transfer-encoded
// (IMAP BODY[n]; for the root, BODY[TEXT]).
func (p *Part) Body(msg []byte) []byte { return span(msg, p.BodyStart, p.End) }

// Size is the body size in octets, as BODYSTRUCTURE reports it.
func (p *Part) Size() int64 { return p.End - p.BodyStart }

// IsMultipart reports whether p is a multipart (it then has parts).
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// Param returns the Content-Type parameter name (lower-case), or "".
func (p *Part) Param(name string) string { return paramValue(p.Params, name) }

// Charset returns the charset parameter, or "" when there is none.
func (p *Part) Charset() string { return p.Param("charset") }

// Filename returns the attachment file name: the Content-Disposition
// filename parameter, else the Content-Type name parameter, decoded to
// UTF-8; "" when there is none.
func (p *Part) Filename() string {
	if f := paramValue(p.DispositionParams, "filename"); f != "" {
		return f
	}
	return p.Param("name")
}

// PartAt returns the part with the IMAP section number path (RFC 9051
// §6.4.5), e.g. []int{2, 1} for "2.1". Numbers are 1-based. In a message
// whose root is not a multipart, the root is part 1. A message/rfc822 part
// numbers the parts of its enclosed message the same way: if the enclosed
// root is a multipart, n.1 is its first part, else n.1 is the enclosed root
// itself. An empty path returns the root. ok is false when there is no such
// part.
func (s *Structure) PartAt(path []int) (*Part, bool) {
	if len(path) == 0 {
		return &s.Root, true
	}
	p, ok := inMessage(&s.Root, path[0])
	for _, n := range path[1:] {
		if !ok {
			return nil, false
		}
		switch {
		case p.IsMultipart():
			p, ok = child(p, n)
		case len(p.Parts) == 1 && p.Envelope != nil:
			p, ok = inMessage(&p.Parts[0], n)
		default:
			return nil, false
		}
	}
	return p, ok
}

// inMessage returns part n of the message whose root part is root.
func inMessage(root *Part, n int) (*Part, bool) {
	if root.IsMultipart() {
		return child(root, n)
	}
	if n == 1 {
		return root, true
	}
	return nil, false
}

func child(p *Part, n int) (*Part, bool) {
	if n < 1 || n > len(p.Parts) {
		return nil, false
	}
	return &p.Parts[n-1], true
}

// Walk calls fn for every part of the message, depth first in section
// order, with the part's IMAP section number as PartAt accepts it. A part
// without a number of its own (the root when it is a multipart, or the
// multipart root of an enclosed message, whose content is n.TEXT) gets a
// nil path. A non-multipart root is part 1. Walk stops when fn returns
// false.
func (s *Structure) Walk(fn func(path []int, p *Part) bool) {
	walkMessage(&s.Root, nil, fn)
}

func walkMessage(root *Part, prefix []int, fn func([]int, *Part) bool) bool {
	if root.IsMultipart() {
		return fn(nil, root) && walkChildren(root, prefix, fn)
	}
	return walkPart(root, appendPath(prefix, 1), fn)
}

func walkPart(p *Part, path []int, fn func([]int, *Part) bool) bool {
	if !fn(path, p) {
		return false
	}
	switch {
	case p.IsMultipart():
		return walkChildren(p, path, fn)
	case len(p.Parts) == 1:
		return walkMessage(&p.Parts[0], path, fn)
	}
	return true
}

func walkChildren(p *Part, prefix []int, fn func([]int, *Part) bool) bool {
	for i := range p.Parts {
		if !walkPart(&p.Parts[i], appendPath(prefix, i+1), fn) {
			return false
		}
	}
	return true
}

func appendPath(path []int, n int) []int {
	out := make([]int, len(path)+1)
	copy(out, path)
	out[len(path)] = n
	return out
}
