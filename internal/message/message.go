package message

import "time"

// Limits that bound the work Parse does on hostile input. Beyond them the
// structure is simplified (a too deeply nested multipart becomes a text/plain
// leaf), never refused.
const (
	// MaxDepth is the deepest nesting of multipart and message/rfc822
	// parts that is parsed; deeper containers are treated as leaves.
	MaxDepth = 100
	// MaxParts is the largest number of MIME parts in one Structure;
	// further parts are left inside the preceding part's container.
	MaxParts = 10000
	// MaxAddresses is the largest number of addresses kept per address
	// header field in an Envelope.
	MaxAddresses = 5000
)

// Placeholders for address parts that are missing from a malformed address,
// as Dovecot writes them in ENVELOPE. A non-empty Host is what tells a
// mailbox from a group marker, so a mailbox never has an empty Host.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
)

// Part is one node of the MIME tree, with byte offsets into the full message
// bytes given to Parse.
type Part struct {
	// Offsets into the message: header start, body start (just after the
	// blank line that ends the header, if any), end (exclusive).
	HeaderStart, BodyStart, End int64

	// Type and Subtype are lower-case, e.g. "text" and "plain". Without a
	// usable Content-Type they are text/plain, or message/rfc822 for the
	// children of a multipart/digest. A multipart whose parts cannot be
	// found (no boundary parameter, no boundary line, or past MaxDepth) is
	// reported as text/plain so that its content stays readable.
	Type, Subtype string
	// Params are the Content-Type parameters in order, names lower-cased,
	// RFC 2231 continuations joined and values decoded to UTF-8 (RFC 2231
	// and RFC 2047), except "boundary", which is kept byte for byte.
	// A part without a usable Content-Type gets the RFC 2045 default
	// charset=us-ascii (text) or no parameters.
	Params [][2]string

	// ID, Description and Encoding are the Content-ID, the raw
	// Content-Description (not RFC 2047 decoded: IMAP sends it as is) and
	// the Content-Transfer-Encoding in upper case as IMAP shows it
	// ("7BIT" when absent).
	ID, Description, Encoding string

	// Disposition is the lower-cased Content-Disposition value ("" when
	// absent), DispositionParams its parameters, decoded like Params.
	Disposition       string
	DispositionParams [][2]string

	Language []string // Content-Language tags
	Location string   // Content-Location
	MD5      string   // Content-MD5

	// Lines is the number of lines (LF characters) in the body, set for
	// text/* and for message/rfc822 and message/global parts.
	Lines int64

	// Envelope is the envelope of the enclosed message, for message/rfc822
	// and message/global parts whose body is not transfer-encoded. It is
	// nil when the enclosed message cannot be located in the stored bytes
	// (e.g. a base64-encoded message/rfc822, forbidden by RFC 2046): such a
	// part is a leaf.
	Envelope *Envelope

	// Parts are the children: the parts of a multipart, or the single root
	// part of the message enclosed in a message/rfc822 part.
	Parts []Part
}

// Address is one entry of an address list, shaped like an IMAP ENVELOPE
// address. Groups follow RFC 9051 §7.5.2: a start marker with Host empty and
// Mailbox set to the group name, then the members, then an end marker with
// Mailbox and Host both empty.
type Address struct {
	Name    string // display name decoded to UTF-8 (or the comment of "a@b (Name)")
	Route   string // obsolete source route ("@a,@b"), IMAP's "adl"
	Mailbox string // local part, unquoted
	Host    string // domain; empty only in group markers
}

// IsGroupStart reports whether a is the start marker of a group.
func (a Address) IsGroupStart() bool { return a.Host == "" && a.Mailbox != "" }

// IsGroupEnd reports whether a is the end marker of a group.
func (a Address) IsGroupEnd() bool { return a.Host == "" && a.Mailbox == "" }

// Envelope holds what IMAP's ENVELOPE reports about a message.
type Envelope struct {
	// Date and Subject are the raw header values, unfolded and trimmed.
	Date, Subject string
	// SubjectDecoded is Subject with RFC 2047 encoded-words decoded and
	// any raw 8-bit text converted to UTF-8.
	SubjectDecoded string
	// Address lists. Sender and ReplyTo default to From when absent or
	// empty (RFC 9051 §7.5.2). Groups without members are left out, as
	// Dovecot does.
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	// InReplyTo and MessageID are the raw header values, unfolded and
	// trimmed.
	InReplyTo, MessageID string
}

// Structure is everything computed once from a message at delivery.
type Structure struct {
	Root     Part
	Envelope Envelope
	// Date is the parsed Date header; zero when absent or unparseable. Its
	// location is a fixed zone with the header's offset.
	Date time.Time
	// HeaderSize is the size of the top-level header, including the blank
	// line that ends it.
	HeaderSize int64
	// References lists the message IDs of the References header, or of
	// In-Reply-To when there is no References header (for THREAD).
	References []string
}
