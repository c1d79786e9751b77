package smtpd

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"time"
)

// receivedInfo is what a Received: header records.
type receivedInfo struct {
	helo     string // as the client sent it
	remote   netip.Addr
	hostname string // ours
	tls      *tls.ConnectionState
	auth     bool
	utf8     bool   // SMTPUTF8 transaction
	id       string // transaction id
	rcpt     string // the one recipient, or "" (RFC 5321 §4.4: no "for" with several)
	date     time.Time
}

// maxHeloInHeader bounds how much of a client's HELO name is copied.
const maxHeloInHeader = 64

// receivedHeader builds the trace header added to every accepted message
// (RFC 5321 §4.4 Stamp), folded one clause per line:
//
//	Received: from client.example ([192.0.2.1])
//		(using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by mail.example.test (mailhouse) with ESMTPSA id 0123abcd-1
//		for <bob@example.test>; Mon, 02 Jan 2006 15:04:05 +0000
//
// Only client text that fits the grammar is copied in; anything else is
// replaced, so the result is always one well-formed header field.
func receivedHeader(ri receivedInfo) []byte {
	var b strings.Builder
	b.WriteString("Received: from ")
	lit := addressLiteral(ri.remote)
	if helo := ri.helo; validHelo(helo) {
		b.WriteString(helo)
		b.WriteString(" (" + lit + ")")
	} else {
		b.WriteString("unknown (" + lit + ")")
		if h := headerToken(helo, maxHeloInHeader); h != "" {
			b.WriteString(" (HELO " + h + ")")
		}
	}
	if ri.tls != nil {
		b.WriteString("\r\n\t(using " + tls.VersionName(ri.tls.Version) +
			" with cipher " + tls.CipherSuiteName(ri.tls.CipherSuite) + ")")
	}
	host := headerToken(ri.hostname, 253)
	if host == "" {
		host = "localhost"
	}
	b.WriteString("\r\n\tby " + host + " (mailhouse) with " + withProtocol(ri))
	if id := headerToken(ri.id, 64); id != "" && isDotAtom(id) && !strings.Contains(id, ".") {
		b.WriteString(" id " + id)
	}
	b.WriteString("\r\n\t")
	if ri.rcpt != "" {
		// Only a plain address: a quoted local part could carry ';' or
		// parentheses that naive readers of this header trip over.
		if p, err := canonicalPath(ri.rcpt); err == nil && p != "" && !strings.HasPrefix(p, `"`) && !strings.HasSuffix(p, "]") {
			b.WriteString("for <" + p + ">")
		}
	}
	b.WriteString("; " + ri.date.Format(time.RFC1123Z) + "\r\n")
	return []byte(b.String())
}

// withProtocol names the protocol (RFC 3848 §1, RFC 6531 §4.3).
func withProtocol(ri receivedInfo) string {
	p := "ESMTP"
	if ri.utf8 {
		p = "UTF8SMTP"
	}
	if ri.tls != nil {
		p += "S"
	}
	if ri.auth {
		p += "A"
	}
	return p
}

// addressLiteral writes an IP as an RFC 5321 §4.1.3 address literal.
func addressLiteral(ip netip.Addr) string {
	switch {
	case ip.Is4():
		return "[" + ip.String() + "]"
	case ip.Is6():
		return "[IPv6:" + ip.String() + "]"
	}
	return "[0.0.0.0]"
}

// validHelo accepts an ASCII domain or address literal.
func validHelo(h string) bool {
	if h == "" || len(h) > maxHeloInHeader {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return false
		}
	}
	return validDomain(h)
}

// headerToken keeps the characters of s that are safe inside a header
// comment or token (letters, digits, . - _ : [ ] and atext specials other
// than parentheses and backslash), at most max bytes.
func headerToken(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case strings.IndexByte(".-_:[]!#$%&'*+/=?^`{|}~@", c) >= 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
