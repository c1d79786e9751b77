package store

import "context"

// MaxBatch is the most UIDs a BatchReader call may ask for; callers split
// longer lists.
const MaxBatch = 512

// BatchReader is an optional extension of Messages for stores that can
// read many messages of one mailbox in one query: IMAP FETCH and SEARCH
// over a range of messages use it instead of one ReadParsed and one
// ReadMessage per message. Callers type-assert and fall back to the
// per-message methods.
type BatchReader interface {
	// ReadBatch returns the stored messages among uids (at most MaxBatch;
	// any order; duplicates allowed) that exist in the mailbox, ordered by
	// UID; UIDs that do not exist are left out. Each has its stored
	// structure (as ReadParsed), and with withBody its bytes (as
	// ReadMessage). All rows come from one snapshot.
	ReadBatch(ctx context.Context, mailbox MailboxID, uids []UID, withBody bool) ([]StoredMessage, error)
}

// StoredMessage is one message returned by BatchReader.ReadBatch.
type StoredMessage struct {
	UID UID
	// Parsed is the structure computed at delivery; nil if none was
	// stored.
	Parsed []byte
	// Message is the copy's prefix followed by the shared body, exactly
	// as ReadMessage returns it; nil unless the body was asked for.
	Message []byte
}
