package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// formatVersion is the first byte of Marshal's output. Bump it whenever the
// encoding or the meaning of a field changes; Unmarshal then refuses old
// data with ErrVersion and the caller re-parses the message.
const formatVersion = 1

// ErrVersion is returned by Unmarshal for data written by another version
// of the encoding: the message must be parsed again.
var ErrVersion = errors.New("message: structure encoded by another version")

// errCorrupt is returned by Unmarshal for malformed data.
var errCorrupt = errors.New("message: corrupt structure encoding")

// Marshal encodes s compactly: a version byte, then varints and
// length-prefixed strings in a fixed field order.
func (s *Structure) Marshal() []byte {
	b := make([]byte, 0, 1024)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(s.HeaderSize))
	if s.Date.IsZero() {
		b = append(b, 0)
	} else {
		_, off := s.Date.Zone()
		b = append(b, 1)
		b = binary.AppendVarint(b, s.Date.Unix())
		b = binary.AppendVarint(b, int64(off))
	}
	b = appendEnvelope(b, &s.Envelope)
	b = appendStrings(b, s.References)
	return appendPart(b, &s.Root)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendString(b, s)
	}
	return b
}

func appendParams(b []byte, l [][2]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, kv := range l {
		b = appendString(b, kv[0])
		b = appendString(b, kv[1])
	}
	return b
}

func appendAddresses(b []byte, l []Address) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for i := range l {
		a := &l[i]
		b = appendString(b, a.Name)
		b = appendString(b, a.Route)
		b = appendString(b, a.Mailbox)
		b = appendString(b, a.Host)
	}
	return b
}

func appendEnvelope(b []byte, v *Envelope) []byte {
	b = appendString(b, v.Date)
	b = appendString(b, v.Subject)
	b = appendString(b, v.SubjectDecoded)
	b = appendAddresses(b, v.From)
	b = appendAddresses(b, v.Sender)
	b = appendAddresses(b, v.ReplyTo)
	b = appendAddresses(b, v.To)
	b = appendAddresses(b, v.Cc)
	b = appendAddresses(b, v.Bcc)
	b = appendString(b, v.InReplyTo)
	return appendString(b, v.MessageID)
}

func appendPart(b []byte, p *Part) []byte {
	b = binary.AppendUvarint(b, uint64(p.HeaderStart))
	b = binary.AppendUvarint(b, uint64(p.BodyStart-p.HeaderStart))
	b = binary.AppendUvarint(b, uint64(p.End-p.BodyStart))
	b = appendString(b, p.Type)
	b = appendString(b, p.Subtype)
	b = appendParams(b, p.Params)
	b = appendString(b, p.ID)
	b = appendString(b, p.Description)
	b = appendString(b, p.Encoding)
	b = appendString(b, p.Disposition)
	b = appendParams(b, p.DispositionParams)
	b = appendStrings(b, p.Language)
	b = appendString(b, p.Location)
	b = appendString(b, p.MD5)
	b = binary.AppendUvarint(b, uint64(p.Lines))
	if p.Envelope == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendEnvelope(b, p.Envelope)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Parts)))
	for i := range p.Parts {
		b = appendPart(b, &p.Parts[i])
	}
	return b
}

// Unmarshal decodes the output of Marshal. It returns ErrVersion for data
// of another format version and an error for corrupt data; it never panics
// and allocates no more than the input justifies.
func Unmarshal(b []byte) (*Structure, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	if b[0] != formatVersion {
		return nil, fmt.Errorf("%w (version %d, want %d)", ErrVersion, b[0], formatVersion)
	}
	// One conversion: every string of the result shares this memory.
	d := decoder{b: b, s: string(b), pos: 1}
	s := &Structure{}
	s.HeaderSize = d.int()
	switch d.byte() {
	case 0:
	case 1:
		sec, off := d.varint(), d.varint()
		if off < -24*3600 || off > 24*3600 {
			d.fail()
		}
		s.Date = time.Unix(sec, 0).In(time.FixedZone("", int(off)))
	default:
		d.fail()
	}
	d.envelope(&s.Envelope)
	s.References = d.strings()
	d.part(&s.Root, 0)
	if d.err == nil && d.pos != len(b) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

type decoder struct {
	b   []byte
	s   string
	pos int
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.pos = len(d.b)
}

func (d *decoder) byte() byte {
	if d.pos >= len(d.b) {
		d.fail()
		return 0
	}
	c := d.b[d.pos]
	d.pos++
	return c
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.pos += n
	return v
}

// int reads a non-negative offset or count.
func (d *decoder) int() int64 {
	v := d.uint()
	if v > 1<<53 {
		d.fail()
		return 0
	}
	return int64(v)
}

// count reads a list length; every element takes at least one byte, so a
// length beyond the remaining input is corrupt.
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)-d.pos) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	s := d.s[d.pos : d.pos+n]
	d.pos += n
	return s
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.string()
	}
	return l
}

func (d *decoder) params() [][2]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([][2]string, n)
	for i := range l {
		l[i] = [2]string{d.string(), d.string()}
	}
	return l
}

func (d *decoder) addresses() []Address {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]Address, n)
	for i := range l {
		l[i] = Address{Name: d.string(), Route: d.string(), Mailbox: d.string(), Host: d.string()}
	}
	return l
}

func (d *decoder) envelope(v *Envelope) {
	v.Date = d.string()
	v.Subject = d.string()
	v.SubjectDecoded = d.string()
	for _, l := range [...]*[]Address{&v.From, &v.Sender, &v.ReplyTo, &v.To, &v.Cc, &v.Bcc} {
		*l = d.addresses()
	}
	v.InReplyTo = d.string()
	v.MessageID = d.string()
}

func (d *decoder) part(p *Part, depth int) {
	if depth > 2*MaxDepth+2 {
		d.fail()
		return
	}
	p.HeaderStart = d.int()
	p.BodyStart = p.HeaderStart + d.int()
	p.End = p.BodyStart + d.int()
	p.Type = d.string()
	p.Subtype = d.string()
	p.Params = d.params()
	p.ID = d.string()
	p.Description = d.string()
	p.Encoding = d.string()
	p.Disposition = d.string()
	p.DispositionParams = d.params()
	p.Language = d.strings()
	p.Location = d.string()
	p.MD5 = d.string()
	p.Lines = d.int()
	switch d.byte() {
	case 0:
	case 1:
		p.Envelope = &Envelope{}
		d.envelope(p.Envelope)
	default:
		d.fail()
	}
	n := d.count()
	if n == 0 || d.err != nil {
		return
	}
	p.Parts = make([]Part, n)
	for i := range p.Parts {
		d.part(&p.Parts[i], depth+1)
		if d.err != nil {
			p.Parts = nil
			return
		}
	}
}
