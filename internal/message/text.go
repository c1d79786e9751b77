package message

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Text returns the readable text of a message, for SEARCH BODY/TEXT and for
// previews: the text/* parts that are not attachments, in order, transfer-
// decoded, converted to UTF-8, HTML reduced to its text, separated by
// newlines. Of a multipart/alternative only the best alternative is used
// (text/plain, else a multipart, else HTML), and enclosed messages
// contribute their text too (even base64-encoded ones). The result is valid UTF-8 of at most limit
// bytes, and the work done is bounded by limit, not by the message size.
func Text(msg []byte, s *Structure, limit int) string {
	if limit <= 0 || s == nil {
		return ""
	}
	w := textWriter{limit: limit}
	w.part(msg, &s.Root, 0)
	return w.b.String()
}

type textWriter struct {
	b     strings.Builder
	limit int
	stop  bool // the limit is reached
}

func (w *textWriter) full() bool { return w.stop || w.b.Len() >= w.limit }

// add appends s (after a newline when there is text already), cut at the
// limit on a character boundary.
func (w *textWriter) add(s string) {
	s = strings.TrimSpace(s)
	if s == "" || w.full() {
		return
	}
	sep := 0
	if w.b.Len() > 0 {
		sep = 1
	}
	if room := w.limit - w.b.Len() - sep; len(s) > room {
		s = strings.TrimRight(truncateUTF8(s, room), " \t\r\n")
		w.stop = true
	}
	if s == "" {
		return
	}
	if sep > 0 {
		w.b.WriteByte('\n')
	}
	w.b.WriteString(s)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (w *textWriter) part(msg []byte, p *Part, depth int) {
	if w.full() || depth > 2*MaxDepth+2 {
		return
	}
	switch {
	case p.Type == "multipart" && p.Subtype == "alternative":
		if c := bestAlternative(p.Parts); c != nil {
			w.part(msg, c, depth+1)
		}
	case p.Type == "multipart":
		for i := range p.Parts {
			w.part(msg, &p.Parts[i], depth+1)
		}
	case len(p.Parts) == 1:
		w.part(msg, &p.Parts[0], depth+1)
	case isMessageType(p.Type, p.Subtype):
		// An encoded message/rfc822 (not allowed, but sent): decode and
		// parse a bounded prefix of it.
		body := p.Body(msg)
		body = body[:min(len(body), 16*(w.limit-w.b.Len())+256<<10)]
		if dec, err := transferDecode(body, p.Encoding); err == nil {
			w.part(dec, &Parse(dec).Root, depth+1)
		}
	case p.Type == "text" && p.Disposition != "attachment":
		room := w.limit - w.b.Len()
		// Enough input for room bytes of output: base64 takes 4/3, a
		// charset at most 4 bytes per character; HTML markup can dwarf
		// its text, so it gets more.
		maxIn := 4*room + 4096
		if p.Subtype == "html" {
			maxIn = 16*room + 256<<10
		}
		w.add(partText(msg, p, maxIn, room))
	}
}

// bestAlternative picks the part of a multipart/alternative to read.
func bestAlternative(parts []Part) *Part {
	var multi, html, text *Part
	for i := range parts {
		c := &parts[i]
		switch {
		case c.Type == "text" && c.Subtype == "plain":
			return c
		case c.Type == "multipart" && multi == nil:
			multi = c
		case c.Type == "text" && c.Subtype == "html" && html == nil:
			html = c
		case c.Type == "text" && text == nil:
			text = c
		}
	}
	switch {
	case multi != nil:
		return multi
	case html != nil:
		return html
	}
	return text
}

// partText returns up to about limit bytes of the text of a text/* part,
// reading at most maxIn bytes of its body.
func partText(msg []byte, p *Part, maxIn, limit int) string {
	body := p.Body(msg)
	if len(body) > maxIn {
		body = body[:maxIn]
	}
	dec := textDecode(body, p.Encoding)
	cs := p.Charset()
	if cs == "" && p.Subtype == "html" {
		cs = sniffHTMLCharset(dec)
	}
	s := ToUTF8(dec, cs)
	switch p.Subtype {
	case "html":
		return htmlToText(s, limit)
	case "enriched", "richtext":
		return enrichedToText(s)
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// DecodedText returns the content of a text part as UTF-8: transfer-
// decoded and converted from its charset (guessed when absent or unknown).
// HTML stays HTML. It fails only for an unknown transfer encoding.
func (p *Part) DecodedText(msg []byte) (string, error) {
	if _, err := transferDecode(nil, p.Encoding); err != nil {
		return "", err
	}
	dec := textDecode(p.Body(msg), p.Encoding)
	cs := p.Charset()
	if cs == "" && p.Subtype == "html" {
		cs = sniffHTMLCharset(dec)
	}
	return ToUTF8(dec, cs), nil
}

// textDecode removes the transfer encoding of a text body for reading. It
// is more forgiving than Decoded: a body labelled base64 that is plainly not
// base64 (a mislabelled text) and a body in an unknown encoding are read
// as they are.
func textDecode(body []byte, enc string) []byte {
	if normalEncoding(enc) == "BASE64" && !plausibleBase64(body) {
		return body
	}
	dec, err := transferDecode(body, enc)
	if err != nil {
		return body
	}
	return dec
}

// plausibleBase64 reports whether at least half of the first lines of b
// consist of base64 characters only (blanks around them allowed).
func plausibleBase64(b []byte) bool {
	good, bad := 0, 0
	for len(b) > 0 && good+bad < 64 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.Trim(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		ok := true
		for _, c := range line {
			if base64Value(c) == 0xff && c != '=' {
				ok = false
				break
			}
		}
		if ok {
			good++
		} else {
			bad++
		}
	}
	return good >= bad
}

// sniffHTMLCharset looks for <meta charset=...> or <meta ... content="...;
// charset=..."> in the first kilobytes of an HTML document.
func sniffHTMLCharset(b []byte) string {
	b = b[:min(len(b), 4096)]
	lower := bytes.ToLower(b)
	i := bytes.Index(lower, []byte("charset="))
	if i < 0 || !bytes.Contains(lower[:i], []byte("<meta")) {
		return ""
	}
	v := lower[i+len("charset="):]
	v = bytes.TrimLeft(v, `"' `)
	end := bytes.IndexAny(v, "\"'; >/\r\n\t")
	if end < 0 {
		return ""
	}
	return string(v[:end])
}

// enrichedToText removes the formatting commands of text/enriched (RFC
// 1896): "<bold>" and the like go, "<<" is a "<".
func enrichedToText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '<' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '<' {
			b.WriteByte('<')
			i++
			continue
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		i += j
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}
