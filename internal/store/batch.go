package store

import "context"

// MaxBatch is the most UIDs a BatchReader call may ask for; callers split
// longer lists.
const MaxBatch = 512

// BatchParts says what BatchReader.ReadBatch returns beside each
// message's metadata.
type BatchParts int

const (
	// BatchParsed: the structure computed at delivery (as ReadParsed).
	BatchParsed BatchParts = 1 << iota
	// BatchBody: the message bytes (as ReadMessage).
	BatchBody
)

// BatchReader is an optional extension of Messages for stores that can
// read many messages of one mailbox in one query: IMAP FETCH and SEARCH
// over a set of messages use it instead of one GetMessage, ReadParsed
// and ReadMessage per message. Callers type-assert and fall back to the
// per-message methods.
type BatchReader interface {
	// ReadBatch returns the messages among uids (at most MaxBatch; any
	// order; duplicates allowed) that exist in the mailbox, ordered by
	// UID; UIDs that do not exist are left out. Each has its metadata
	// (as GetMessage) and the parts asked for. All rows come from one
	// snapshot.
	ReadBatch(ctx context.Context, mailbox MailboxID, uids []UID, parts BatchParts) ([]StoredMessage, error)
}

// StoredMessage is one message returned by BatchReader.ReadBatch.
type StoredMessage struct {
	Meta MessageMeta
	// Parsed is the structure computed at delivery; nil if none was
	// stored or BatchParsed was not asked for.
	Parsed []byte
	// Message is the copy's prefix followed by the shared body, exactly
	// as ReadMessage returns it; nil unless BatchBody was asked for.
	Message []byte
}
