// Package pgnodes holds the multi-node tests of the PostgreSQL store:
// two real `mailhouse serve` processes on one private PostgreSQL (see
// pgtest), driven over SMTP and IMAP as users and peers would, and the
// SMTP throughput benchmark of PostgreSQL against SQLite. It has no
// code of its own beyond test helpers.
package pgnodes
