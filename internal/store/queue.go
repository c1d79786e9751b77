package store

import (
	"context"
	"time"
)

// QueueID identifies an outbound queue entry; never reused.
type QueueID int64

// RcptStatus is where one recipient of a queue entry stands.
type RcptStatus int

// The RcptStatus values. Only RcptPending recipients are tried again; an
// entry whose recipients are all final is removed from the queue.
const (
	RcptPending   RcptStatus = iota + 1 // not delivered yet (never tried, or deferred)
	RcptDelivered                       // accepted by the next hop
	RcptFailed                          // refused permanently, or expired; bounced
)

func (s RcptStatus) String() string {
	switch s {
	case RcptPending:
		return "pending"
	case RcptDelivered:
		return "delivered"
	case RcptFailed:
		return "failed"
	}
	return "unknown"
}

// QueueRecipient is one recipient of a queue entry with its own status:
// some recipients of a message may be delivered while others wait.
type QueueRecipient struct {
	Address   string
	Status    RcptStatus
	Attempts  int
	LastError string // the last reply or error, for the admin and the DSN
	Updated   time.Time
}

// QueueEntry is one message waiting for outbound delivery, without its
// data (QueueData reads it).
type QueueEntry struct {
	ID   QueueID
	From string // reverse path; "" is the null sender (a bounce)
	// Recipients in the order they were queued.
	Recipients []QueueRecipient
	Size       int64
	Created    time.Time
	// NextAttempt is when the entry is next due.
	NextAttempt time.Time
	Attempts    int    // delivery rounds so far
	LastError   string // the last temporary failure of any recipient
	// Warned is set once the sender got a delay warning.
	Warned bool
	// LeaseOwner and LeaseUntil: a worker that leased the entry owns it
	// until then; a lease that ran out (its worker died) is free again.
	LeaseOwner string
	LeaseUntil time.Time
}

// Pending returns the addresses still to be delivered.
func (e QueueEntry) Pending() []string {
	var p []string
	for _, r := range e.Recipients {
		if r.Status == RcptPending {
			p = append(p, r.Address)
		}
	}
	return p
}

// NewQueueEntry is a message to queue.
type NewQueueEntry struct {
	From string
	To   []string
	Data []byte // CRLF line endings
	// NextAttempt is when to try first; zero means now.
	NextAttempt time.Time
}

// LeaseRequest asks for due entries.
type LeaseRequest struct {
	Owner string        // the worker (process) taking them
	Now   time.Time     // entries due at or before Now
	For   time.Duration // lease length
	Limit int           // at most this many
}

// RecipientResult is the outcome of one attempt for one recipient.
type RecipientResult struct {
	Address string
	Status  RcptStatus
	Error   string // the reply, for pending and failed recipients
}

// QueueOutcome ends a lease: it records what happened to the entry's
// recipients, when to try again, and any report to send, in one
// transaction, so that a crash can neither lose a bounce nor send it
// twice.
type QueueOutcome struct {
	ID    QueueID
	Owner string // must hold the lease; else ErrLocked
	// Recipients lists the recipients tried; others keep their status.
	Recipients []RecipientResult
	// NextAttempt for recipients still pending.
	NextAttempt time.Time
	LastError   string
	// Counted: this was a delivery attempt (Attempts grows); false for a
	// lease given back untried (shutdown).
	Counted bool
	Warned  bool // a delay warning is part of Reports
	// Reports are messages to queue in the same transaction (DSNs).
	Reports []NewQueueEntry
}

// Queue is the durable outbound queue. The design fits a shared database:
// QueueLease takes due entries that no live lease holds (in PostgreSQL,
// SELECT ... FOR UPDATE SKIP LOCKED), so several workers or nodes can
// share one queue; an entry whose lease runs out is taken again.
type Queue interface {
	// QueueAdd stores a message for its recipients (all pending) and
	// returns its entry; committed and fsynced when it returns nil.
	QueueAdd(ctx context.Context, e NewQueueEntry) (QueueEntry, error)
	// QueueLease leases up to Limit due entries to Owner, soonest first.
	QueueLease(ctx context.Context, r LeaseRequest) ([]QueueEntry, error)
	// QueueRelease frees every lease whose owner starts with prefix (a
	// restarted node takes back what its previous run held).
	QueueRelease(ctx context.Context, ownerPrefix string) (int, error)
	// QueueData returns a queued message.
	QueueData(ctx context.Context, id QueueID) ([]byte, error)
	// QueueFinish records an attempt and ends the lease; an entry with no
	// pending recipient left is deleted. ErrLocked if Owner lost the lease.
	QueueFinish(ctx context.Context, o QueueOutcome) error
	// QueueGet returns one entry, or ErrNotFound.
	QueueGet(ctx context.Context, id QueueID) (QueueEntry, error)
	// QueueList returns every entry, by ID.
	QueueList(ctx context.Context) ([]QueueEntry, error)
	// QueueRetry makes an entry (or every entry, for id 0) due at now and
	// returns how many it changed.
	QueueRetry(ctx context.Context, id QueueID, now time.Time) (int, error)
	// QueueDrop deletes an entry, queueing the reports given (a bounce)
	// in the same transaction; it returns the dropped entry.
	QueueDrop(ctx context.Context, id QueueID, reports []NewQueueEntry) (QueueEntry, error)
	// QueueNextDue is the earliest NextAttempt of an unleased entry, or
	// ok=false when the queue is empty.
	QueueNextDue(ctx context.Context) (t time.Time, ok bool, err error)
}

// DKIMKey is one signing key of a hosted domain (RFC 6376), published
// at Selector._domainkey.Domain.
type DKIMKey struct {
	Domain     string
	Selector   string
	Algorithm  string // "ed25519" or "rsa"
	PrivateKey []byte // PKCS #8, DER; never logged
	Created    time.Time
}

// DKIMKeys keeps the domains' DKIM signing keys beside the directory, so
// that a backup of the store holds them and every node of a shared
// database signs alike. A domain's keys go with it.
type DKIMKeys interface {
	// AddDKIMKey stores a key; ErrExists if the domain has the selector,
	// ErrNotFound if the domain is not hosted.
	AddDKIMKey(ctx context.Context, k DKIMKey) error
	// ListDKIMKeys returns a domain's keys (all domains' for ""), by
	// domain and selector.
	ListDKIMKeys(ctx context.Context, domain string) ([]DKIMKey, error)
	// DeleteDKIMKey removes one key, or returns ErrNotFound.
	DeleteDKIMKey(ctx context.Context, domain, selector string) error
}
