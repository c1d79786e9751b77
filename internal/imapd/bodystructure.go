package imapd

import (
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
)

// encoder writes ENVELOPE and BODYSTRUCTURE (RFC 9051 §7.5.2) from the
// structure computed at delivery. utf8 says whether the client accepts
// UTF-8 in quoted strings (RFC 6855); otherwise decoded non-ASCII text is
// sent RFC 2047- or RFC 2231-encoded, as it was in the message.
type encoder struct {
	utf8 bool
}

func (e encoder) nstring(b []byte, s string) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return imapwire.AppendString(b, s, e.utf8)
}

// text writes decoded header text (a display name): as is for UTF-8
// clients, else with RFC 2047 encoded-words.
func (e encoder) text(b []byte, s string) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	if !e.utf8 && !isASCII(s) && utf8.ValidString(s) {
		s = mime.QEncoding.Encode("utf-8", s)
	}
	return imapwire.AppendString(b, s, e.utf8)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (e encoder) envelope(b []byte, env *message.Envelope) []byte {
	b = append(b, '(')
	b = e.nstring(b, env.Date)
	b = append(b, ' ')
	b = e.nstring(b, env.Subject)
	for _, list := range [][]message.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		b = append(b, ' ')
		b = e.addresses(b, list)
	}
	b = append(b, ' ')
	b = e.nstring(b, env.InReplyTo)
	b = append(b, ' ')
	b = e.nstring(b, env.MessageID)
	return append(b, ')')
}

// addresses writes an address list; groups as RFC 9051 §7.5.2 says: a
// start marker (NIL NIL "name" NIL) and an end marker (NIL NIL NIL NIL).
func (e encoder) addresses(b []byte, list []message.Address) []byte {
	if len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range list {
		b = append(b, '(')
		switch {
		case a.IsGroupEnd():
			b = append(b, "NIL NIL NIL NIL"...)
		case a.IsGroupStart():
			b = append(b, "NIL NIL "...)
			b = e.nstring(b, a.Mailbox)
			b = append(b, " NIL"...)
		default:
			b = e.text(b, a.Name)
			b = append(b, ' ')
			b = e.nstring(b, a.Route)
			b = append(b, ' ')
			b = e.nstring(b, a.Mailbox)
			b = append(b, ' ')
			b = e.nstring(b, a.Host)
		}
		b = append(b, ')')
	}
	return append(b, ')')
}

// params writes a body-fld-param list; NIL when empty. Non-ASCII values
// go to non-UTF-8 clients in RFC 2231 form (name*=utf-8”...).
func (e encoder) params(b []byte, ps [][2]string) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		name, val := p[0], p[1]
		if !e.utf8 && !isASCII(val) && utf8.ValidString(val) {
			name += "*"
			val = "utf-8''" + strings.ReplaceAll(url.PathEscape(val), "+", "%2B")
		}
		b = imapwire.AppendString(b, name, e.utf8)
		b = append(b, ' ')
		b = imapwire.AppendString(b, val, e.utf8)
	}
	return append(b, ')')
}

func isMultipart(p *message.Part) bool { return p.Type == "multipart" && len(p.Parts) > 0 }

// isEncapsulated: a message/rfc822 (or message/global) part whose
// enclosed message was parsed.
func isEncapsulated(p *message.Part) bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") && p.Envelope != nil && len(p.Parts) == 1
}

// body writes a body (BODY) or, with ext, a BODYSTRUCTURE. depth bounds
// the recursion (the structure is bounded already; this is a guard).
func (e encoder) body(b []byte, p *message.Part, ext bool, depth int) []byte {
	if depth > message.MaxDepth+2 {
		return append(b, `("text" "plain" NIL NIL NIL "7BIT" 0 0)`...)
	}
	b = append(b, '(')
	if isMultipart(p) {
		for i := range p.Parts {
			b = e.body(b, &p.Parts[i], ext, depth+1)
		}
		b = append(b, ' ')
		b = imapwire.AppendString(b, p.Subtype, false)
		if ext {
			// body-ext-mpart: params, disposition, language, location.
			b = append(b, ' ')
			b = e.params(b, p.Params)
			b = e.ext(b, p)
		}
		return append(b, ')')
	}
	typ, sub := p.Type, p.Subtype
	if typ == "multipart" || typ == "" {
		// A multipart without parts cannot be written as one.
		typ, sub = "text", "plain"
	}
	if typ == "message" && (sub == "rfc822" || sub == "global") && !isEncapsulated(p) {
		// The enclosed message is not available (e.g. base64-encoded
		// message/rfc822, forbidden by RFC 2046 §5.2.1): the grammar
		// would require an envelope, so describe it as opaque data.
		typ, sub = "application", "octet-stream"
	}
	b = imapwire.AppendString(b, typ, false)
	b = append(b, ' ')
	b = imapwire.AppendString(b, sub, false)
	b = append(b, ' ')
	b = e.params(b, p.Params)
	b = append(b, ' ')
	b = e.nstring(b, p.ID)
	b = append(b, ' ')
	b = e.nstring(b, p.Description)
	b = append(b, ' ')
	enc := p.Encoding
	if enc == "" {
		enc = "7BIT"
	}
	b = imapwire.AppendString(b, enc, false)
	b = append(b, ' ')
	b = appendUint(b, uint64(max(0, p.End-p.BodyStart)))
	switch {
	case typ == "message" && isEncapsulated(p):
		b = append(b, ' ')
		b = e.envelope(b, p.Envelope)
		b = append(b, ' ')
		b = e.body(b, &p.Parts[0], ext, depth+1)
		b = append(b, ' ')
		b = appendUint(b, uint64(max(0, p.Lines)))
	case typ == "text":
		b = append(b, ' ')
		b = appendUint(b, uint64(max(0, p.Lines)))
	}
	if ext {
		// body-ext-1part: md5, disposition, language, location.
		b = append(b, ' ')
		b = e.nstring(b, p.MD5)
		b = e.ext(b, p)
	}
	return append(b, ')')
}

// ext writes disposition, language and location (shared by both kinds of
// extension data).
func (e encoder) ext(b []byte, p *message.Part) []byte {
	b = append(b, ' ')
	if p.Disposition == "" {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		b = imapwire.AppendString(b, p.Disposition, e.utf8)
		b = append(b, ' ')
		b = e.params(b, p.DispositionParams)
		b = append(b, ')')
	}
	b = append(b, ' ')
	switch len(p.Language) {
	case 0:
		b = append(b, "NIL"...)
	default:
		b = append(b, '(')
		for i, l := range p.Language {
			if i > 0 {
				b = append(b, ' ')
			}
			b = imapwire.AppendString(b, l, e.utf8)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return e.nstring(b, p.Location)
}
