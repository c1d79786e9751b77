package sqlcore

import "context"

// Dialect is what differs between the SQL of the databases. The shared
// queries are written with "?" placeholders (a backend rebinds them if
// its driver wants others) and in the SQL both databases understand;
// the few words that differ come from here.
type Dialect struct {
	// Name prefixes log messages and errors ("sqlstore", "pgstore").
	Name string
	// Greatest and Least are the scalar functions of two or more
	// arguments: SQLite's max and min, PostgreSQL's GREATEST and LEAST.
	Greatest, Least string
	// Instr is the function giving the 1-based position of its second
	// argument in its first, 0 if absent: instr, strpos.
	Instr string
	// IntsFromJSON is a sub-select of the integers of one JSON array
	// parameter (a list of UIDs of any length in one statement text).
	IntsFromJSON string
	// ForUpdate ends a SELECT of rows the write goes on to change, so
	// that concurrent writers on other connections wait for them
	// (" FOR UPDATE"); empty where one writer runs at a time.
	ForUpdate string
	// SkipLocked ends a SELECT of rows to lease, so that concurrent
	// writers take different rows without waiting (" FOR UPDATE SKIP
	// LOCKED"); empty where one writer runs at a time.
	SkipLocked string
	// IsUniqueViolation reports an error of a unique constraint: two
	// writers creating the same name at once.
	IsUniqueViolation func(error) bool
	// Checks are the database's own checks, run by Check after the
	// counts and before mailhouse's (SQLite: pages, foreign keys).
	Checks []CheckStep
	// StoreBytes returns the store's size on disk, for Stats.
	StoreBytes func(ctx context.Context, q Querier) (int64, error)
}

// CheckStep is one named check of the database.
type CheckStep struct {
	Name string
	// Slow steps are left out of a quick check.
	Slow bool
	Run  func(c *Checker) error
}

// isUnique reports a unique violation, if the dialect can tell.
func (d Dialect) isUnique(err error) bool {
	return err != nil && d.IsUniqueViolation != nil && d.IsUniqueViolation(err)
}
