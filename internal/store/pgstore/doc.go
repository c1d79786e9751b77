// Package pgstore implements the store interfaces on PostgreSQL (driver
// github.com/jackc/pgx/v5), so that several mailhouse nodes can serve one
// set of mailboxes: the database holds everything, message bodies
// included, and the nodes share no file system.
//
// Its logic (every query and the Go around it) is sqlstore's, shared in
// internal/store/sqlcore; this package gives it PostgreSQL (backend.go)
// and keeps what is PostgreSQL's alone: the pool, write retries, the
// LISTEN/NOTIFY feed, advisory locks, the sweep, migrations (the same
// numbers and meaning as sqlstore's) and the import from SQLite. It
// differs from SQLite where several writers meet:
//
//   - UIDs and modseqs are taken from the mailbox row under its row lock
//     (UPDATE ... RETURNING, or SELECT ... FOR UPDATE), so concurrent
//     deliveries on any number of nodes get distinct, increasing UIDs.
//   - Body sharing is reference-counted under the body row's lock.
//   - The change feed is LISTEN/NOTIFY: after a write commits, one
//     notifier per node sends its events in batches (NOTIFY inside each
//     transaction would serialise all commits on PostgreSQL's notify
//     lock), and a periodic sweep of subscribed mailboxes catches events
//     lost with a node that died in between (notifier.go, sweep.go).
//   - Locker uses advisory locks on one dedicated connection per node.
//   - The outbound queue leases rows with FOR UPDATE SKIP LOCKED.
//
// There is no group committer: PostgreSQL groups concurrent commits into
// one WAL flush itself. Each write is one transaction, retried on
// serialization failures and deadlocks, and a write once started runs to
// its end whatever its caller's context does, so that a nil error always
// means committed (synchronous_commit must stay on) and an error means
// not.
//
// store.Ops: Stats and Check with its repairs (shared); Backup refuses,
// as pg_dump and the cluster's own base backups and replication are the
// tools there. store.Limits is implemented (shared).
package pgstore
