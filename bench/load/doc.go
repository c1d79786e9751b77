// Package load is mailhouse's load generator: it drives any mail server
// over real TCP with the standard protocols (SMTP, IMAP, POP3), as mail
// clients and other MTAs would, and measures throughput and latency
// percentiles. It knows nothing about mailhouse's internals, so the same
// run can be pointed at mailhouse and at Postfix+Dovecot (see
// bench/compare.sh).
//
// Scenarios:
//   - SMTP: N messages of S bytes over C concurrent sessions (several
//     messages per session, PIPELINING when offered, RFC 2920), then
//     optionally waits until IMAP STATUS shows them all (end to end).
//   - IMAP: C logged-in sessions run a weighted mix of SELECT (with a
//     flag resync), header FETCH, body FETCH, STORE, SEARCH, APPEND,
//     EXPUNGE and IDLE for a fixed time.
//   - POP3: C workers run full-download sessions (log in, STAT, UIDL,
//     RETR every message, QUIT) for a fixed time.
//   - Idle: N IMAP connections logged in and IDLEing, held while the
//     server's memory (RSS and PSS over its process tree) is read.
//
// Every run is bounded in count and time, and talks only to the address
// it is given (the scripts use 127.0.0.1).
package load
