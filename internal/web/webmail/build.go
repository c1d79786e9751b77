package webmail

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"mailhouse/internal/message"
)

// outgoing is a message the user wrote, ready to be built.
type outgoing struct {
	From         *mail.Address
	To, Cc, Bcc  addrField
	Subject      string
	Body         string
	InReplyTo    string
	References   []string
	Files        []file
	Date         time.Time
	MessageID    string // without angle brackets
	fromFallback string // the From field as typed, for a draft that has no valid From
}

// addrField is an address field: the addresses understood and, for
// drafts, the text as typed when it holds something else.
type addrField struct {
	list []*mail.Address
	raw  string
	bad  []string
}

func newAddrField(s string) addrField {
	ok, bad := parseRecipients(s)
	return addrField{list: ok, raw: strings.TrimSpace(s), bad: bad}
}

// file is one attachment.
type file struct {
	Name  string
	Type  string // media type with parameters
	Data  []byte
	isMsg bool // message/rfc822: sent as 8bit, not base64
}

// msgIDPattern is a message ID as we accept it back from a form.
var msgIDPattern = regexp.MustCompile(`^<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>$`)

// buildMessage writes the message as RFC 5322 / MIME with CRLF line
// endings: a text/plain part in UTF-8 (quoted-printable when needed) and
// the attachments, in multipart/mixed when there are any. Bcc is written
// only when bcc is true (the Sent and Drafts copies).
func buildMessage(o *outgoing, bcc bool) ([]byte, error) {
	// go-message writes the fields last set first: set them in reverse
	// to read Date, Message-ID, From, To, Cc, Subject... from the top.
	var h mail.Header
	var refs []string
	for _, r := range o.References {
		if msgIDPattern.MatchString(r) {
			refs = append(refs, r)
		}
	}
	if len(refs) > 0 {
		h.Set("References", strings.Join(refs, " "))
	}
	if msgIDPattern.MatchString(o.InReplyTo) {
		h.Set("In-Reply-To", o.InReplyTo)
	}
	if s := oneLine(o.Subject); s != "" {
		h.SetSubject(s)
	}
	if bcc {
		setAddrs(&h, "Bcc", o.Bcc)
	}
	setAddrs(&h, "Cc", o.Cc)
	setAddrs(&h, "To", o.To)
	switch {
	case o.From != nil:
		h.SetAddressList("From", []*mail.Address{cleanAddr(o.From)})
	case o.fromFallback != "":
		h.SetText("From", oneLine(o.fromFallback))
	}
	h.SetMessageID(o.MessageID)
	h.SetDate(o.Date)
	var b bytes.Buffer
	body := toCRLF(o.Body)
	if len(o.Files) == 0 {
		copyFields(&h.Header, textHeader(body))
		w, err := gomessage.CreateWriter(&b, h.Header)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&b, h)
	if err != nil {
		return nil, err
	}
	tw, err := mw.CreateSingleInline(mail.InlineHeader{Header: textHeader(body)})
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, f := range o.Files {
		var ah mail.AttachmentHeader
		typ, params, err := mime.ParseMediaType(f.Type)
		if err != nil || strings.HasPrefix(typ, "multipart/") {
			typ, params = "application/octet-stream", nil
		}
		if typ == "message/rfc822" || f.isMsg {
			typ, params = "message/rfc822", nil
			enc := "7bit"
			if !isASCII(f.Data) {
				enc = "8bit"
			}
			ah.Set("Content-Transfer-Encoding", enc)
		}
		if params == nil {
			params = map[string]string{}
		}
		params["name"] = f.Name
		ah.SetContentType(typ, params)
		ah.SetFilename(f.Name)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		data := f.Data
		if typ == "message/rfc822" {
			data = message.ToCRLF(data)
		}
		if _, err := aw.Write(data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// textHeader is the header of the text part: 7bit when the text is
// ASCII with short lines, else quoted-printable.
func textHeader(body string) gomessage.Header {
	var h gomessage.Header
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	enc := "quoted-printable"
	if isASCII([]byte(body)) && maxLineLength(body) <= 78 {
		enc = "7bit"
	}
	h.Set("Content-Transfer-Encoding", enc)
	return h
}

func copyFields(dst *gomessage.Header, src gomessage.Header) {
	fs := src.Fields()
	for fs.Next() {
		dst.Set(fs.Key(), fs.Value())
	}
}

func setAddrs(h *mail.Header, key string, f addrField) {
	switch {
	case len(f.bad) == 0 && len(f.list) > 0:
		l := make([]*mail.Address, len(f.list))
		for i, a := range f.list {
			l[i] = cleanAddr(a)
		}
		h.SetAddressList(key, l)
	case f.raw != "":
		h.SetText(key, oneLine(f.raw)) // a draft keeps what was typed
	}
}

// cleanAddr drops control characters from a display name.
func cleanAddr(a *mail.Address) *mail.Address {
	return &mail.Address{Name: oneLine(a.Name), Address: a.Address}
}

// toCRLF normalises line endings to CRLF.
func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func maxLineLength(s string) int {
	m := 0
	for _, l := range strings.Split(s, "\n") {
		m = max(m, len(l))
	}
	return m
}

// receivedHeader is the trace field added to a message sent from the
// webmail, as submission adds one (RFC 5321 §4.4).
func receivedHeader(remote, hostname, id string, now time.Time) string {
	return fmt.Sprintf("Received: from [%s] by %s (mailhouse webmail) with HTTPS id %s;\r\n\t%s\r\n",
		remote, hostname, id, now.Format(time.RFC1123Z))
}
