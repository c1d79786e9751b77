package webmail

import (
	"html/template"
	"strings"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// cidMap maps the Content-IDs of a message's parts to their URLs.
func cidMap(s *message.Structure, partURL func(section string) string) map[string]string {
	m := map[string]string{}
	s.Walk(func(path []int, p *message.Part) bool {
		if p.ID != "" && path != nil && !p.IsMultipart() && len(m) < 1000 {
			if id := normalizeCID(p.ID); id != "" {
				if _, dup := m[id]; !dup {
					m[id] = partURL(section(path))
				}
			}
		}
		return true
	})
	return m
}

// collector walks a message's MIME tree and decides what is shown and
// what is listed as an attachment.
type collector struct {
	wm     *Webmail
	msg    []byte
	mb     store.MailboxID
	uid    store.UID
	allow  bool
	cids   map[string]string
	blocks []block
	atts   []attachment
	text   int
	remote int
	used   map[string]bool
}

// message lays out a message whose root part is root; prefix is the
// section of the message/rfc822 part that holds it (nil at the top).
func (c *collector) message(root *message.Part, prefix []int, depth int) {
	if root.IsMultipart() {
		c.multipart(root, prefix, depth)
		return
	}
	c.leaf(root, appendPath(prefix, 1), depth)
}

func (c *collector) entity(p *message.Part, path []int, depth int) {
	if p.IsMultipart() {
		c.multipart(p, path, depth+1)
		return
	}
	c.leaf(p, path, depth)
}

func (c *collector) multipart(p *message.Part, prefix []int, depth int) {
	if depth > 2*message.MaxDepth {
		return
	}
	switch p.Subtype {
	case "alternative":
		best := bestDisplay(p.Parts)
		for i := range p.Parts {
			ch := &p.Parts[i]
			switch {
			case i == best:
				c.entity(ch, appendPath(prefix, i+1), depth)
			case ch.Type != "text" && !ch.IsMultipart():
				c.attach(ch, appendPath(prefix, i+1)) // e.g. a calendar invitation
			}
		}
	case "related":
		start := 0
		if id := normalizeCID(p.Param("start")); id != "" {
			for i := range p.Parts {
				if normalizeCID(p.Parts[i].ID) == id {
					start = i
				}
			}
		}
		for i := range p.Parts {
			if i == start {
				c.entity(&p.Parts[i], appendPath(prefix, i+1), depth)
			} else if !p.Parts[i].IsMultipart() {
				c.attach(&p.Parts[i], appendPath(prefix, i+1)) // dropped in finish if shown inline
			}
		}
	default:
		for i := range p.Parts {
			c.entity(&p.Parts[i], appendPath(prefix, i+1), depth)
		}
	}
}

// bestDisplay picks the alternative to show: HTML, else plain text,
// else a multipart (which holds one of them), else the last.
func bestDisplay(parts []message.Part) int {
	html, plain, multi := -1, -1, -1
	for i := range parts {
		p := &parts[i]
		switch {
		case p.Type == "text" && p.Subtype == "html" && html < 0:
			html = i
		case p.Type == "text" && p.Subtype == "plain" && plain < 0:
			plain = i
		case p.IsMultipart():
			multi = i // the richest comes last (RFC 2046 §5.1.4)
		}
	}
	switch {
	case multi >= 0 && multi > html && multi > plain:
		return multi
	case html >= 0:
		return html
	case plain >= 0:
		return plain
	}
	return len(parts) - 1
}

func (c *collector) leaf(p *message.Part, path []int, depth int) {
	sec := section(path)
	attached := p.Disposition == "attachment"
	full := len(c.blocks) >= maxBlocks
	switch {
	case p.Envelope != nil && len(p.Parts) == 1:
		c.attach(p, path)
		if !attached && !full && depth < maxNested {
			h := c.wm.header(p.Envelope, parseDate(p.Envelope.Date))
			c.blocks = append(c.blocks, block{Kind: "message", Header: &h})
			c.message(&p.Parts[0], path, depth+1)
		}
	case p.Type == "text" && p.Subtype == "html" && !attached && !full:
		c.html(p, sec)
	case p.Type == "text" && !attached && !full && (p.Subtype == "plain" || p.Subtype == "enriched" || p.Subtype == "richtext" || p.Filename() == ""):
		c.plain(p)
	case p.Type == "image" && inlineImage(p.Subtype) && !attached && !full:
		url := c.wm.partURL(c.mb, c.uid, "part", sec)
		c.blocks = append(c.blocks, block{Kind: "image", Image: url, Alt: p.Filename(), cid: normalizeCID(p.ID)})
		c.attach(p, path)
	default:
		c.attach(p, path)
	}
}

func (c *collector) plain(p *message.Part) {
	text, err := p.DecodedText(c.msg)
	if err != nil {
		text = string(p.Body(c.msg))
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	b := block{Kind: "text"}
	if room := maxShownText - c.text; len(text) > room {
		text = truncateUTF8(text, max(room, 0))
		b.Truncated = true
	}
	c.text += len(text)
	b.HTML = template.HTML(textHTML(strings.TrimRight(text, "\n "), c.wm.composeMailto))
	c.blocks = append(c.blocks, b)
}

func (c *collector) html(p *message.Part, sec string) {
	src, err := p.DecodedText(c.msg)
	if err != nil {
		src = strings.ToValidUTF8(string(p.Body(c.msg)), "\uFFFD")
	}
	res := c.wm.cleanHTML(src, frameRefs{cids: c.cids, allowRemote: c.allow})
	c.remote += res.remote
	if c.used == nil {
		c.used = map[string]bool{}
	}
	for id := range res.usedCIDs {
		c.used[id] = true
	}
	frame := c.wm.partURL(c.mb, c.uid, "html", sec)
	if c.allow {
		frame += "?images=1"
	}
	c.blocks = append(c.blocks, block{Kind: "html", Frame: frame, Truncated: len(src) > maxHTMLInput})
}

func (c *collector) attach(p *message.Part, path []int) {
	if len(c.atts) >= 1000 {
		return
	}
	sec := section(path)
	typ := p.Type + "/" + p.Subtype
	a := attachment{Name: attachmentName(p), Type: typ, Size: decodedSize(p), cid: normalizeCID(p.ID),
		Download: c.wm.partURL(c.mb, c.uid, "part", sec) + "?dl=1"}
	if viewable(p) {
		a.View = c.wm.partURL(c.mb, c.uid, "part", sec)
		a.Image = p.Type == "image"
	}
	c.atts = append(c.atts, a)
}

// finish drops images shown inside HTML from the blocks and the
// attachment list.
func (c *collector) finish() {
	if len(c.used) == 0 {
		return
	}
	blocks := c.blocks[:0]
	for _, b := range c.blocks {
		if b.Kind != "image" || b.cid == "" || !c.used[b.cid] {
			blocks = append(blocks, b)
		}
	}
	c.blocks = blocks
	atts := c.atts[:0]
	for _, a := range c.atts {
		if a.cid == "" || !c.used[a.cid] {
			atts = append(atts, a)
		}
	}
	c.atts = atts
}

// inlineImage reports whether browsers show an image type safely inline
// (SVG is not among them: it can carry script).
func inlineImage(sub string) bool {
	switch sub {
	case "png", "jpeg", "jpg", "pjpeg", "gif", "webp", "bmp", "avif":
		return true
	}
	return false
}

// viewable reports whether a part may be opened in the browser rather
// than only downloaded.
func viewable(p *message.Part) bool {
	return (p.Type == "image" && inlineImage(p.Subtype)) || (p.Type == "text" && p.Subtype == "plain")
}

// attachmentName is a part's file name, or one made from its type.
func attachmentName(p *message.Part) string {
	if n := cleanFilename(p.Filename()); n != "" {
		return n
	}
	if p.Envelope != nil {
		s := cleanFilename(oneLine(p.Envelope.SubjectDecoded))
		if s == "" {
			s = "message"
		}
		return s + ".eml"
	}
	ext := map[string]string{"text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "image/png": ".png",
		"image/jpeg": ".jpg", "image/gif": ".gif", "application/pdf": ".pdf", "message/rfc822": ".eml",
		"message/delivery-status": ".txt", "text/rfc822-headers": ".txt"}[p.Type+"/"+p.Subtype]
	if ext == "" {
		ext = ".bin"
	}
	return "part" + ext
}

// cleanFilename keeps a file name safe to show and to offer as a
// download: no path, no control characters, bounded length.
func cleanFilename(n string) string {
	n = oneLine(n)
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Trim(n, " .")
	if len(n) > 200 {
		n = truncateUTF8(n, 200)
	}
	return n
}

// decodedSize estimates the size of a part once decoded.
func decodedSize(p *message.Part) int64 {
	if strings.EqualFold(p.Encoding, "BASE64") {
		return p.Size() * 57 / 78 // 76 characters and CRLF per 57 bytes
	}
	return p.Size()
}
