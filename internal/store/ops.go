package store

import (
	"context"
	"fmt"
	"time"
)

// Ops is the maintenance a store offers beside Store: online backups,
// consistency checks and the figures metrics report. A store implements
// it beside Store; callers type-assert (st.(store.Ops)). Every method is
// safe while the store serves: reads run on one snapshot, repairs go
// through the store's own writer.
type Ops interface {
	// Backup writes a consistent snapshot of the whole store, as it was
	// at one moment (every write committed before the call is in it),
	// into a new file at path, fsynced, and checks the copy. It fails if
	// path exists.
	Backup(ctx context.Context, path string) (BackupInfo, error)
	// Check verifies the store and, with Repair, fixes what it can. It
	// never changes anything without Repair.
	Check(ctx context.Context, o CheckOptions) (CheckReport, error)
	// Stats returns the figures metrics expose; cheap enough to call on
	// every scrape.
	Stats(ctx context.Context) (Stats, error)
}

// Counts are what a store holds, for a backup manifest and check reports.
type Counts struct {
	Domains      int   `json:"domains"`
	Accounts     int   `json:"accounts"`
	Aliases      int   `json:"aliases"`
	Mailboxes    int   `json:"mailboxes"`
	Messages     int   `json:"messages"`
	Bodies       int   `json:"bodies"`
	BodyBytes    int64 `json:"body_bytes"`
	QueueEntries int   `json:"queue_entries"`
	// SchemaVersion is the store's schema (migration) version.
	SchemaVersion int `json:"schema_version"`
}

func (c Counts) String() string {
	return fmt.Sprintf("%d domains, %d accounts, %d aliases, %d mailboxes, %d messages (%d bodies, %d bytes), %d queued",
		c.Domains, c.Accounts, c.Aliases, c.Mailboxes, c.Messages, c.Bodies, c.BodyBytes, c.QueueEntries)
}

// BackupInfo describes a backup file Backup wrote.
type BackupInfo struct {
	Path  string
	Size  int64
	Taken time.Time // the moment of the snapshot
	// Check is the result of checking the copy (never repaired).
	Check CheckReport
}

// CheckOptions select what Check does.
type CheckOptions struct {
	// Repair fixes the problems that can be fixed (Problem.Repairable).
	Repair bool
	// Quick skips the slowest checks (the page-level integrity check and
	// reading every body).
	Quick bool
}

// Problem kinds reported by Check.
const (
	ProblemIntegrity    = "integrity"     // the database file itself is damaged
	ProblemForeignKey   = "foreign-key"   // a row points at a row that is missing
	ProblemBodySize     = "body-size"     // a body's bytes differ from its recorded size
	ProblemBodyMissing  = "body-missing"  // a message's body is gone
	ProblemMessageSize  = "message-size"  // a message's size is not its prefix plus its body
	ProblemOrphanBody   = "orphan-body"   // a body no message uses
	ProblemCounters     = "counters"      // a mailbox's message count, bytes or unseen count is off
	ProblemUIDNext      = "uidnext"       // a mailbox's UIDNEXT is not above its UIDs
	ProblemModSeq       = "modseq"        // a mailbox's HIGHESTMODSEQ is below a message's or an expunge's
	ProblemNoStructure  = "no-structure"  // a body has no parsed structure (informational)
	ProblemExpungedList = "expunged-list" // the expunge history counter is off
)

// Problem is one thing Check found.
type Problem struct {
	Kind string `json:"kind"`
	// Where names what is wrong: "mailbox 12 (alice@example.com/INBOX)",
	// "body 345", "message 12/7".
	Where  string `json:"where"`
	Detail string `json:"detail"`
	// Repairable says whether Check with Repair can fix it; Repaired
	// that it did.
	Repairable bool `json:"repairable"`
	Repaired   bool `json:"repaired"`
}

func (p Problem) String() string {
	s := p.Kind + ": " + p.Where + ": " + p.Detail
	switch {
	case p.Repaired:
		s += " (repaired)"
	case p.Repairable:
		s += " (repairable with --repair)"
	}
	return s
}

// CheckReport is what Check found.
type CheckReport struct {
	Counts   Counts    `json:"counts"`
	Problems []Problem `json:"problems,omitempty"`
	// Checked lists the checks that ran, in order.
	Checked []string `json:"checked"`
}

// Clean reports whether there is no problem left (a repaired one does
// not count).
func (r CheckReport) Clean() bool {
	for _, p := range r.Problems {
		if !p.Repaired {
			return false
		}
	}
	return true
}

// Stats are the figures Ops.Stats returns.
type Stats struct {
	Accounts []AccountStats
	// QueueEntries and QueueBytes are the outbound queue's size;
	// QueueOldest is the creation time of its oldest entry (zero when
	// the queue is empty).
	QueueEntries int
	QueueBytes   int64
	QueueOldest  time.Time
	// StoreBytes is the size of the store's files (database and WAL).
	StoreBytes int64
}

// AccountStats is one account's storage use.
type AccountStats struct {
	Address  string
	Messages int
	Bytes    int64
}
