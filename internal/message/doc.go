// Package message parses RFC 5322 / MIME messages once, at delivery, into
// everything IMAP FETCH and SEARCH and the webmail need: the MIME tree with
// byte offsets into the stored message (for BODY[section], BINARY and
// BODYSTRUCTURE), the ENVELOPE of the message and of every enclosed
// message/rfc822, the parsed Date, and helpers to decode parts to text.
//
// The result (*Structure) is serialised with Marshal and kept by the store
// beside the body, so that a FETCH never re-parses a message.
//
// Parse never fails. Mail in the wild is often broken (bare LF line endings,
// missing or unterminated boundaries, junk in headers, unknown charsets,
// bad base64); the parser then returns a best-effort structure rather than
// an error. It works in time linear in the message size times the MIME
// nesting depth, and both depth and part count are bounded (MaxDepth,
// MaxParts), so no input can make it hang or exhaust the stack.
//
// Where a well-kept library fits, it is used: github.com/emersion/go-message
// for charset conversion (its charset package) and for strict address-list
// parsing (its mail package), net/mail for dates. Byte offsets of MIME parts
// are something no library exposes, so the MIME tree scan is ours, and so
// are the tolerant fallbacks used when the strict parsers refuse a value:
// addresses with groups, routes or missing domains, malformed dates,
// encoded-words split inside multibyte characters, RFC 2231 parameters.
//
// What the package deliberately does not do: build or rewrite messages
// (see mailauth and webmail for that), sanitise HTML for display (webmail
// uses bluemonday), or render IMAP syntax (imapd renders BODYSTRUCTURE and
// ENVELOPE from these fields).
package message
