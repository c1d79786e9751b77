package smtpd

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// senderFieldNames are the header fields that name who sent a message;
// on submission each address in them must be the user's.
var senderFieldNames = []string{"from", "sender"}

// maxSenderAddresses bounds how many addresses one message may name in
// its From: and Sender: fields together.
const maxSenderAddresses = 100

var errNoAddress = errors.New("no address")

// senderAddresses returns every address in the From: and Sender: fields
// of a message's header (RFC 5322 §3.6.2). The header is everything up to
// the first empty line; when there is none, the whole message is read as
// header, so that a field can never hide from the check where a mail
// reader would still show it. Field names match case-insensitively and
// with white space before the colon (RFC 5322 §4.5 obsolete syntax,
// which readers accept). A field that cannot be parsed is an error: the
// caller refuses what it cannot check.
func senderAddresses(msg []byte) ([]string, error) {
	var addrs []string
	var field []byte // the current field, unfolded, when it is a sender field
	flush := func() error {
		if field == nil {
			return nil
		}
		list, err := parseAddressList(string(field))
		field = nil
		if err != nil {
			return err
		}
		addrs = append(addrs, list...)
		if len(addrs) > maxSenderAddresses {
			return errors.New("too many sender addresses")
		}
		return nil
	}
	for len(msg) > 0 {
		line := msg
		next := len(msg)
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, next = msg[:i], i+1
		}
		msg = msg[next:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if field != nil {
				field = append(field, line...)
			}
			continue
		}
		if err := flush(); err != nil {
			return addrs, err
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		for _, want := range senderFieldNames {
			if strings.EqualFold(string(name), want) {
				field = append([]byte{}, line[colon+1:]...)
				break
			}
		}
	}
	return addrs, flush()
}

// parseAddressList parses one field body into addresses. Group syntax
// ("undisclosed:;") gives its members, possibly none.
func parseAddressList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, errNoAddress
	}
	// Encoded words in display names are decoded; an unknown charset does
	// not matter for the check, so its text is passed through.
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	list, err := p.ParseList(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a.Address == "" {
			return nil, errNoAddress
		}
		out = append(out, a.Address)
	}
	return out, nil
}
