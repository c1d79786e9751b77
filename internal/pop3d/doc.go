// Package pop3d is mailhouse's POP3 server: RFC 1939 with the RFC 2449
// extension mechanism (CAPA, TOP, UIDL, USER, RESP-CODES, PIPELINING,
// EXPIRE, IMPLEMENTATION), RFC 3206 response codes (AUTH-RESP-CODE),
// RFC 2595 STLS and RFC 5034 SASL (PLAIN only).
//
// The maildrop is the account's INBOX, the same mailbox IMAP shows. A
// session takes a snapshot of it at login; messages that arrive later
// are seen by the next session. UIDL values are derived from the
// mailbox's UIDVALIDITY and the message's UID, so they are unique and
// stable forever, across server restarts. DELE only marks; QUIT in the
// TRANSACTION state expunges the marked messages in one store call
// (IMAP sessions then see EXPUNGE). A dropped, timed-out or shut-down
// session deletes nothing. One POP3 session per maildrop at a time (a
// store lock, so it holds across nodes); a second one gets
// "-ERR [IN-USE]" while IMAP sessions go on.
//
// Messages are sent as their POP3 view: every line ending made CRLF, a
// final CRLF added when missing, then dot-stuffed. LIST and STAT give the
// size of that view before dot-stuffing, which is what RETR's octet
// count and clients such as fetchmail and Python's poplib compare.
//
// On a plaintext listener USER, PASS and AUTH are refused until STLS
// (like IMAP's LOGINDISABLED); CAPA lists neither USER nor SASL there.
//
// Deliberately not supported: APOP (it needs stored plaintext
// passwords), SASL mechanisms other than PLAIN, LOGIN-DELAY, and
// changing flags: RETR does not set \Seen.
package pop3d
