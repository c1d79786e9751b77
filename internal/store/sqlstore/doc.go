// Package sqlstore implements store.Store on SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo).
//
// Durability and concurrency: the database runs in WAL mode with
// synchronous=FULL. Every write goes through one committer goroutine that
// owns the only write connection: callers submit a function, the
// committer runs every function already waiting in one transaction, each
// inside its own SAVEPOINT so that one failure does not sink the others,
// commits once (one fsync for the whole group), answers each caller and
// only then publishes change-feed events. Reads use a separate pool of
// query_only connections and never wait for the writer. WAL checkpoints
// run in the background, off the commit path (checkpoint.go).
//
// Message bodies live in the database, stored once however many
// mailboxes hold a copy; a trigger deletes a body with the last message
// that references it. The schema is created and upgraded at Open from
// the embedded, numbered SQL files in migrations/.
//
// The store's logic (every query and the Go around it) is shared with
// pgstore in internal/store/sqlcore; this package gives it SQLite
// (backend.go): the committer, the read pool, the SQLite spelling of what
// differs, and SQLite's own checks (check.go). What stays here is
// SQLite's alone: opening and pragmas, the committer, checkpoints,
// file-level operations (backup by VACUUM INTO, checking a copy,
// Quiesce) and the migrations.
//
// What it does not do: quota enforcement (internal/delivery checks
// AccountUsage), and address normalisation (callers pass normalised
// addresses, see store.Directory).
package sqlstore
