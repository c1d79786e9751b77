package message

import "strings"

// Header fields read for ENVELOPE, Date and THREAD.
const (
	fDate = iota
	fSubject
	fFrom
	fSender
	fReplyTo
	fTo
	fCc
	fBcc
	fInReplyTo
	fMessageID
	fReferences
	numEnvFields
)

// envFields holds the first occurrence of each envelope field of a header.
type envFields struct {
	raw [numEnvFields][]byte
}

func scanEnvelopeFields(hdr []byte) envFields {
	names := [numEnvFields]string{
		"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
		"in-reply-to", "message-id", "references",
	}
	var f envFields
	it := fieldIter{b: hdr}
	for {
		name, raw, ok := it.next()
		if !ok {
			return f
		}
		for k, n := range names {
			if f.raw[k] == nil && equalFold(name, n) {
				f.raw[k] = raw
				break
			}
		}
	}
}

// value returns the unfolded, trimmed value of field k, "" when absent.
func (f *envFields) value(k int) string {
	if f.raw[k] == nil {
		return ""
	}
	return fieldValue(f.raw[k])
}

func (f *envFields) addresses(k int) []Address {
	return dropEmptyGroups(ParseAddressList(f.value(k)))
}

func (f *envFields) envelope() Envelope {
	e := Envelope{
		Date:      f.value(fDate),
		Subject:   f.value(fSubject),
		From:      f.addresses(fFrom),
		Sender:    f.addresses(fSender),
		ReplyTo:   f.addresses(fReplyTo),
		To:        f.addresses(fTo),
		Cc:        f.addresses(fCc),
		Bcc:       f.addresses(fBcc),
		InReplyTo: f.value(fInReplyTo),
		MessageID: f.value(fMessageID),
	}
	if e.Subject != "" {
		e.SubjectDecoded = DecodeHeader(e.Subject)
	}
	// RFC 9051 §7.5.2: "If the Sender or Reply-To lines are absent in the
	// [RFC-5322] header, or are present but empty, the server sets the
	// corresponding member of the envelope to be the same value as the
	// from member".
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// references returns the message IDs of the References field, or the first
// one of In-Reply-To when References has none (RFC 5256 §4, REFERENCES).
func (f *envFields) references() []string {
	if ids := msgIDs(f.value(fReferences), -1); len(ids) > 0 {
		return ids
	}
	return msgIDs(f.value(fInReplyTo), 1)
}

// msgIDs returns up to max (all if max < 0) "<...>" message IDs in v, with
// their angle brackets; text outside them (comments, junk) is ignored.
func msgIDs(v string, max int) []string {
	var ids []string
	for max != 0 {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexAny(v[i+1:], "<>")
		if j < 0 {
			break
		}
		if v[i+1+j] == '<' {
			v = v[i+1+j:] // "<junk <id>": restart at the inner "<"
			continue
		}
		if id := v[i : i+j+2]; len(id) > 2 && !strings.ContainsAny(id, " \t") {
			ids = append(ids, id)
			max--
		}
		v = v[i+j+2:]
	}
	return ids
}

// dropEmptyGroups removes groups without members ("undisclosed-recipients:;"),
// which Dovecot leaves out of ENVELOPE.
func dropEmptyGroups(l []Address) []Address {
	out := l[:0:0]
	for i := 0; i < len(l); i++ {
		if l[i].IsGroupStart() && i+1 < len(l) && l[i+1].IsGroupEnd() {
			i++
			continue
		}
		out = append(out, l[i])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
