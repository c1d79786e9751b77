package message

import (
	"html"
	"strings"
)

// htmlToText reduces HTML to its readable text: tags go (block elements
// become line breaks, table cells spaces), the content of script, style,
// title, template, noscript and comments goes, entities are decoded and white space
// is collapsed as a browser would. It stops after about limit bytes of
// text. It is a reader for search and previews, not a sanitiser.
func htmlToText(s string, limit int) string {
	var b strings.Builder
	space := false // a collapsed blank is pending
	for i := 0; i < len(s) && b.Len() < limit; {
		c := s[i]
		if c != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			text := s[i : i+j]
			if strings.IndexByte(text, '&') >= 0 {
				text = html.UnescapeString(text)
			}
			for k := 0; k < len(text); k++ {
				if isHTMLSpace(text[k]) {
					space = true
					continue
				}
				if space && b.Len() > 0 && !endsWithNewline(&b) {
					b.WriteByte(' ')
				}
				space = false
				b.WriteByte(text[k])
			}
			i += j
			continue
		}
		// Comments and declarations.
		if strings.HasPrefix(s[i:], "<!--") {
			j := strings.Index(s[i+4:], "-->")
			if j < 0 {
				break
			}
			i += 4 + j + 3
			continue
		}
		if i+1 < len(s) && (s[i+1] == '!' || s[i+1] == '?') {
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		name, closing, end := scanTag(s, i)
		if name == "" {
			// A lone "<" is text.
			if space && b.Len() > 0 && !endsWithNewline(&b) {
				b.WriteByte(' ')
			}
			b.WriteByte('<')
			space = false
			i++
			continue
		}
		i = end
		switch name {
		case "script", "style", "title", "template", "noscript":
			if closing {
				continue
			}
			j := indexFold(s[i:], "</"+name)
			if j < 0 {
				i = len(s)
				continue
			}
			i += j
		case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
			"table", "blockquote", "pre", "hr", "dt", "dd", "ul", "ol",
			"section", "article", "header", "footer", "address", "center":
			if b.Len() > 0 && !endsWithNewline(&b) {
				b.WriteByte('\n')
			}
			space = false
		case "td", "th":
			space = true
		}
	}
	return tidyLines(b.String())
}

// scanTag reads the tag starting at s[i] == '<' and returns its lower-cased
// name, whether it is a closing tag, and the offset after its '>'. name is
// "" when s[i] does not start a tag.
func scanTag(s string, i int) (name string, closing bool, end int) {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		closing = true
		j++
	}
	k := j
	for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || k > j && s[k] >= '0' && s[k] <= '9') {
		k++
	}
	if k == j {
		return "", false, i + 1
	}
	name = strings.ToLower(s[j:k])
	// Find the closing '>' outside quoted attribute values (a quote
	// starts one only right after "=", as in HTML's tokenizer).
	for ; k < len(s); k++ {
		switch s[k] {
		case '>':
			return name, closing, k + 1
		case '=':
			v := k + 1
			for v < len(s) && isHTMLSpace(s[v]) {
				v++
			}
			if v < len(s) && (s[v] == '"' || s[v] == '\'') {
				e := strings.IndexByte(s[v+1:], s[v])
				if e < 0 {
					return name, closing, len(s)
				}
				k = v + 1 + e
			}
		}
	}
	return name, closing, len(s)
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring case.
func indexFold(s, lowerNeedle string) int {
	for i := 0; i+len(lowerNeedle) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(lowerNeedle) <= len(s) && strings.EqualFold(s[i:i+len(lowerNeedle)], lowerNeedle) {
			return i
		}
	}
	return -1
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func endsWithNewline(b *strings.Builder) bool {
	s := b.String()
	return len(s) > 0 && s[len(s)-1] == '\n'
}

// tidyLines trims every line, and drops leading, trailing and repeated
// empty lines.
func tidyLines(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			blank = b.Len() > 0
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
			if blank {
				b.WriteByte('\n')
			}
		}
		blank = false
		b.WriteString(line)
	}
	return b.String()
}
