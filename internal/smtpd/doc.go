// Package smtpd receives mail over SMTP: the MX service on port 25 for
// the domains we host, and authenticated submission on 587/2525
// (STARTTLS) and 465 (implicit TLS). It is a backend for
// github.com/emersion/go-smtp, which parses the protocol; this package
// decides who may send what to whom and hands accepted messages to
// internal/delivery.
//
// What it does:
//   - MX: recipients are resolved at RCPT time (aliases, catch-alls, plus
//     addresses, forwards); a domain we do not host gets 554 5.7.1 (no open
//     relay), an unknown local user 550 5.1.1 (no backscatter). AUTH is not
//     offered.
//   - Submission: AUTH PLAIN and LOGIN, only once the connection is
//     encrypted; MAIL needs a logged-in user, whose envelope sender and
//     From:/Sender: addresses must be theirs (their address, a plus
//     address of it, or an alias that delivers to them).
//   - Every accepted message gets a Received: header (RFC 5321 §4.4,
//     RFC 3848 protocol names) and is stored durably in every local
//     recipient's INBOX, one body for all of them, before 250 is sent.
//   - Limits: line length, message size, recipients, command and DATA
//     time-outs, errors per session. Bare CR or LF and NUL bytes in message
//     data are refused (no SMTP smuggling: the only end of data is
//     CRLF.CRLF and nothing ambiguous is ever stored or passed on).
//
// Known limits of go-smtp v0.25.1, worked around or accepted here:
// "RCPT TO:<postmaster>" without a domain is refused as a syntax error
// (RFC 5321 §4.5.1 wants it accepted); errors of its own parser close the
// connection after 4, whatever Config.MaxErrors says; its DATA reader
// misses the end of data after a bare CR ("\r\r\n.\r\n"), so such a
// message is refused only at the DATA time-out; it drops ".\r" at the
// start of a line when no LF follows; Received headers say ESMTP even
// after HELO, since the session cannot tell.
//
// What it deliberately does not do: outbound delivery (external
// recipients go to delivery's queue when one is configured, else they get
// a temporary error), SPF/DKIM/DMARC checks, reverse DNS, DSN, and BINARYMIME.
package smtpd
