// Package sqlcore is the store's logic on SQL, shared by the SQLite
// (internal/store/sqlstore) and PostgreSQL (internal/store/pgstore)
// stores: every query of store.Store and of the optional interfaces both
// implement (Admin, Queue, DKIMKeys, Limits, Sync, the Stats and Check of
// Ops), and the Go around them.
//
// It is written against a Backend (a write transaction, reads alone or
// in one snapshot) and a Dialect (the few words of SQL that differ,
// unique violations, the database's own checks). Queries use "?"
// placeholders and the SQL both databases understand; a backend rebinds
// placeholders if its driver wants others. Write functions may run more
// than once (PostgreSQL retries a serialization failure), so they change
// nothing outside their transaction, and the events they note reach the
// feed only if they commit.
//
// What it does not do: transactions, connections, the change feed's
// transport, locks, backups and migrations' locking are the backends'.
// It also shares the small pieces both need: the feed's Subscription and
// the migration runner.
package sqlcore
