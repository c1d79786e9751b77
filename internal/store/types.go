package store

import "time"

// Identifiers. They are assigned by the store and never reused.
type (
	DomainID  int64
	AccountID int64
	MailboxID int64
	// UID is an IMAP message UID: unique and ascending within a mailbox for
	// as long as its UIDValidity holds.
	UID uint32
	// ModSeq is an RFC 7162 modification sequence, per mailbox.
	ModSeq uint64
)

// Domain is a mail domain we host. Name is in A-label (ASCII) form.
type Domain struct {
	ID      DomainID
	Name    string
	Created time.Time
}

// Account is a user who can log in and has mailboxes.
type Account struct {
	ID           AccountID
	Address      string // normalised: lower-case local part, A-label domain
	Domain       string
	PasswordHash string // argon2id, PHC string format; never logged
	QuotaBytes   int64  // 0 = unlimited
	Created      time.Time
}

// NewAccount is what AddAccount needs.
type NewAccount struct {
	Address      string
	PasswordHash string
	QuotaBytes   int64
}

// Alias maps an address (or "@domain" for a catch-all) to one or more
// targets: local addresses or external ones.
type Alias struct {
	Address string
	Targets []string
}

// Special-use attributes (RFC 6154).
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// DefaultMailbox is a mailbox every new account gets.
type DefaultMailbox struct {
	Name       string
	SpecialUse string
}

// DefaultMailboxes are created with every account, so that clients find
// their special folders without asking the user.
var DefaultMailboxes = []DefaultMailbox{
	{"INBOX", ""},
	{"Sent", SpecialSent},
	{"Drafts", SpecialDrafts},
	{"Trash", SpecialTrash},
	{"Junk", SpecialJunk},
	{"Archive", SpecialArchive},
}

// Mailbox is one folder. Names use "/" as the hierarchy delimiter and are
// stored as UTF-8.
type Mailbox struct {
	ID            MailboxID
	Account       AccountID
	Name          string
	SpecialUse    string
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq ModSeq
	Subscribed    bool
}

// MailboxStatus counts a mailbox's content.
type MailboxStatus struct {
	Messages      int
	Unseen        int
	Size          int64
	UIDNext       UID
	UIDValidity   uint32
	HighestModSeq ModSeq
}

// Usage is an account's storage use.
type Usage struct {
	Bytes    int64
	Messages int
}

// System flags (RFC 9051 §2.3.2). Keywords are any other atom.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Delivery is one message body to be added to one or more mailboxes.
type Delivery struct {
	// Body is the message as received, with CRLF line endings.
	Body []byte
	// Parsed is the structure computed once from Body (ENVELOPE,
	// BODYSTRUCTURE, ...), stored beside it. The store does not interpret
	// it.
	Parsed  []byte
	Targets []Target
}

// Target is one mailbox a delivery goes to.
type Target struct {
	Mailbox MailboxID
	// Prefix is prepended to the shared body for this copy only, e.g.
	// "Return-Path: <...>\r\nDelivered-To: ...\r\n". It must be whole
	// header lines ending in CRLF.
	Prefix       []byte
	Flags        []string
	InternalDate time.Time // zero means now
}

// Delivered tells where one target's copy landed.
type Delivered struct {
	Mailbox MailboxID
	UID     UID
	ModSeq  ModSeq
}

// MessageMeta is a message's metadata, without its body.
type MessageMeta struct {
	Mailbox      MailboxID
	UID          UID
	ModSeq       ModSeq
	Flags        []string // sorted, no duplicates
	InternalDate time.Time
	Size         int64 // len(Prefix) + len(body): exactly the bytes ReadMessage returns
	PrefixLen    int   // bytes of the per-copy prefix before the shared body
}

// Changes is what changed in a mailbox after a modseq.
type Changes struct {
	Messages      []MessageMeta // new or with changed flags, by UID
	Expunged      []UID         // ascending
	HighestModSeq ModSeq
	// ExpungedIncomplete is true when since is older than the expunge
	// history the store keeps (it is bounded; see the implementation):
	// Expunged then lacks expunges from before that horizon. A QRESYNC
	// session must then report as vanished every UID it knew that is no
	// longer in the mailbox (RFC 7162 §3.2.5.2 allows reporting UIDs
	// that never existed), rather than trust Expunged alone.
	ExpungedIncomplete bool
}

// FlagOp says how UpdateFlags combines flags.
type FlagOp int

// The FlagOp values.
const (
	FlagsAdd FlagOp = iota + 1
	FlagsRemove
	FlagsReplace
)

// FlagUpdate is a request to UpdateFlags.
type FlagUpdate struct {
	Mailbox        MailboxID
	UIDs           []UID
	Op             FlagOp
	Flags          []string
	UnchangedSince ModSeq // 0: no condition
}

// FlagResult reports what UpdateFlags did.
type FlagResult struct {
	Updated []MessageMeta // messages whose flags changed, with their new modseq
	Failed  []UID         // skipped because of UnchangedSince
}

// EventKind says what kind of change an Event reports.
type EventKind int

// The EventKind values.
const (
	EventMessages  EventKind = iota + 1 // messages added, changed or expunged
	EventMailboxes                      // mailboxes created, deleted or renamed
)

// Event reports a committed change.
type Event struct {
	Kind    EventKind
	Account AccountID
	Mailbox MailboxID // 0 for EventMailboxes
	ModSeq  ModSeq    // the mailbox's highest modseq after the change
}
