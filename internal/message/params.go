package message

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// isTSpecial reports RFC 2045 tspecials.
func isTSpecial(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }

func isTokenChar(c byte) bool { return c > ' ' && c < 0x7f && !isTSpecial(c) }

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// stripComments removes RFC 5322 comments "(...)" outside quoted strings.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '(':
			depth++
		case c == '"':
			quoted = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseMediaType parses a Content-Type value into lower-cased type and
// subtype and its parameters. ok is false when there is no valid
// type/subtype; the parameters are then still returned.
func parseMediaType(v string) (typ, sub string, params [][2]string, ok bool) {
	v = stripComments(v)
	head, rest, _ := strings.Cut(v, ";")
	head = strings.TrimSpace(head)
	// Tolerate a missing ";" before the first parameter: "text/html charset=x".
	if i := strings.IndexAny(head, " \t"); i >= 0 {
		rest = head[i:] + ";" + rest
		head = head[:i]
	}
	t, s, found := strings.Cut(head, "/")
	t, s = strings.ToLower(strings.TrimSpace(t)), strings.ToLower(strings.TrimSpace(s))
	params = parseParams(rest)
	if !found || !isToken(t) || !isToken(s) {
		return "", "", params, false
	}
	return t, s, params, true
}

// parseDisposition parses a Content-Disposition value.
func parseDisposition(v string) (disp string, params [][2]string) {
	v = stripComments(v)
	head, rest, _ := strings.Cut(v, ";")
	head = strings.TrimSpace(head)
	if i := strings.IndexAny(head, " \t"); i >= 0 {
		rest = head[i:] + ";" + rest
		head = head[:i]
	}
	return strings.ToLower(head), parseParams(rest)
}

// rawParam is one parameter as written, before RFC 2231 assembly.
type rawParam struct {
	name  string // lower-cased, without the RFC 2231 "*n*" suffix
	index int    // continuation index, -1 for none
	ext   bool   // RFC 2231 extended (charset'lang'%XX) value
	value string
}

// parseParams parses "; name=value; name2="quoted"" leniently: missing
// semicolons between parameters, unterminated quotes, unquoted values with
// spaces, and parameters without "=" (skipped) are tolerated. RFC 2231
// continuations are joined and values decoded; the result keeps the order
// in which names first appear, and the first of duplicate names.
func parseParams(s string) [][2]string {
	var raw []rawParam
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ';' || isWSP(s[i]) || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ';' {
			i++
		}
		name := strings.ToLower(strings.TrimSpace(s[start:i]))
		if i >= len(s) || s[i] == ';' {
			continue // no value: skip the junk
		}
		if name == "" {
			// "=value" without a name: skip to the next parameter.
			for i < len(s) && s[i] != ';' {
				i++
			}
			continue
		}
		i++ // '='
		for i < len(s) && isWSP(s[i]) {
			i++
		}
		var value string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j > len(s) {
				j = len(s)
			}
			value = unquoteParam(s[i+1 : min(j, len(s))])
			i = j + 1
			// Skip anything up to the next parameter.
			for i < len(s) && s[i] != ';' {
				if !isWSP(s[i]) {
					break
				}
				i++
			}
		} else {
			j := i
			for j < len(s) && s[j] != ';' {
				j++
			}
			value = strings.TrimSpace(s[i:j])
			// "a=b c=d" without semicolon: split at a blank followed by token=.
			if k := missingSemicolon(value); k > 0 {
				j = i + k
				value = strings.TrimSpace(value[:k])
			}
			i = j
		}
		raw = append(raw, splitRFC2231(name, value))
	}
	return assembleParams(raw)
}

// unquoteParam removes the backslash escapes of a quoted parameter value.
// As in mime.ParseMediaType, a backslash escapes only a tspecial character
// (quote, backslash ...); other backslashes are kept, so that Windows paths
// in file names survive.
func unquoteParam(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isTSpecial(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// missingSemicolon returns the index in an unquoted value of a blank that
// is followed by "token=", i.e. where a forgotten ";" belongs, or -1.
func missingSemicolon(v string) int {
	for k := 0; k < len(v); {
		if !isWSP(v[k]) {
			k++
			continue
		}
		j := k
		for j < len(v) && isWSP(v[j]) {
			j++
		}
		e := j
		for e < len(v) && isTokenChar(v[e]) {
			e++
		}
		if e > j && e < len(v) && v[e] == '=' {
			return k
		}
		k = max(e, k+1)
	}
	return -1
}

// splitRFC2231 recognises "name*", "name*N" and "name*N*" (RFC 2231 §3, §4).
func splitRFC2231(name, value string) rawParam {
	p := rawParam{name: name, index: -1, value: value}
	star := strings.IndexByte(name, '*')
	if star < 0 {
		return p
	}
	base, suffix := name[:star], name[star+1:]
	if base == "" {
		return p
	}
	switch {
	case suffix == "":
		p.name, p.ext = base, true
	case strings.HasSuffix(suffix, "*"):
		n, err := strconv.Atoi(suffix[:len(suffix)-1])
		if err != nil || n < 0 {
			return p
		}
		p.name, p.index, p.ext = base, n, true
	default:
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 0 {
			return p
		}
		p.name, p.index = base, n
	}
	return p
}

// maxParams bounds the parameters kept per header field.
const maxParams = 1000

// assembleParams joins RFC 2231 continuations, decodes values and keeps the
// first occurrence of every name, at most maxParams. An RFC 2231 value wins
// over a plain value of the same name (senders add the plain one for old
// readers), in the place of the first of them.
func assembleParams(raw []rawParam) [][2]string {
	if len(raw) == 0 {
		return nil
	}
	var segs map[string][]rawParam // RFC 2231 segments by name
	for _, p := range raw {
		if p.index >= 0 || p.ext {
			if segs == nil {
				segs = map[string][]rawParam{}
			}
			segs[p.name] = append(segs[p.name], p)
		}
	}
	var out [][2]string
	seen := map[string]bool{}
	for _, p := range raw {
		if seen[p.name] {
			continue
		}
		if len(out) == maxParams {
			break
		}
		seen[p.name] = true
		if s, ok := segs[p.name]; ok {
			out = append(out, [2]string{p.name, joinRFC2231(s)})
		} else {
			out = append(out, [2]string{p.name, plainParamValue(p.name, p.value)})
		}
	}
	return out
}

// plainParamValue decodes an ordinary parameter value: RFC 2047
// encoded-words (non-standard in parameters but common in filenames) and
// raw 8-bit text. The boundary is kept byte for byte: it must match the
// body.
func plainParamValue(name, v string) string {
	if name == "boundary" {
		return v
	}
	return DecodeHeader(v)
}

// joinRFC2231 joins the RFC 2231 segments of one parameter in index order
// and decodes them: %XX escapes in extended segments, then the charset
// named by the first segment.
func joinRFC2231(segs []rawParam) string {
	sort.SliceStable(segs, func(a, b int) bool { return segs[a].index < segs[b].index })
	cs := ""
	var buf []byte
	for k, p := range segs {
		if k > 0 && p.index == segs[k-1].index {
			continue // duplicate segment
		}
		v := p.value
		if p.ext {
			if k == 0 {
				// charset'language'value
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						cs = v[:a]
						v = v[a+1+b+1:]
					}
				}
			}
			buf = append(buf, percentDecode(v)...)
			continue
		}
		buf = append(buf, v...)
	}
	if bytes.Contains(buf, []byte("=?")) {
		return DecodeHeader(ToUTF8(buf, cs))
	}
	return ToUTF8(buf, cs)
}

// percentDecode decodes %XX escapes, keeping a stray "%".
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// paramValue returns the value of the parameter name (lower-case) in
// params, or "".
func paramValue(params [][2]string, name string) string {
	for _, p := range params {
		if p[0] == name {
			return p[1]
		}
	}
	return ""
}
