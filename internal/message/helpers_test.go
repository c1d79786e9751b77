package message

import (
	"fmt"
	"strings"
)

// sketch renders a part tree compactly for assertions, e.g.
// "multipart/mixed(text/plain;charset=us-ascii 7BIT 5b 1l, image/png BASE64 12b attachment;filename=a.png)".
// Enclosed messages show as "message/rfc822 ... {root}".
func sketch(p *Part) string {
	var b strings.Builder
	sketchTo(&b, p)
	return b.String()
}

func sketchTo(b *strings.Builder, p *Part) {
	b.WriteString(p.Type + "/" + p.Subtype)
	for _, kv := range p.Params {
		if kv[0] == "boundary" {
			continue
		}
		fmt.Fprintf(b, ";%s=%s", kv[0], kv[1])
	}
	if p.Type == "multipart" {
		b.WriteString("(")
		for i := range p.Parts {
			if i > 0 {
				b.WriteString(", ")
			}
			sketchTo(b, &p.Parts[i])
		}
		b.WriteString(")")
		return
	}
	fmt.Fprintf(b, " %s %db", p.Encoding, p.End-p.BodyStart)
	if p.Type == "text" || isMessageType(p.Type, p.Subtype) {
		fmt.Fprintf(b, " %dl", p.Lines)
	}
	if p.Disposition != "" {
		b.WriteString(" " + p.Disposition)
		for _, kv := range p.DispositionParams {
			fmt.Fprintf(b, ";%s=%s", kv[0], kv[1])
		}
	}
	if p.ID != "" {
		b.WriteString(" id=" + p.ID)
	}
	if len(p.Parts) == 1 {
		b.WriteString(" {")
		sketchTo(b, &p.Parts[0])
		b.WriteString("}")
	}
}

// addrs renders an address list as "Name <mailbox@host>, group: ;".
func addrs(l []Address) string {
	var parts []string
	for _, a := range l {
		switch {
		case a.IsGroupStart():
			parts = append(parts, a.Mailbox+":")
		case a.IsGroupEnd():
			parts = append(parts, ";")
		default:
			s := a.Mailbox + "@" + a.Host
			if a.Route != "" {
				s = a.Route + ":" + s
			}
			if a.Name != "" {
				s = a.Name + " <" + s + ">"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// crlf turns the LF line endings of a test literal into CRLF.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
