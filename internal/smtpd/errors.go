package smtpd

import (
	"context"
	"errors"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// reply builds a protocol reply. Every refusal the package sends is one
// of the values below or made here, so that the codes live in one place;
// details go to the log, never to the client.
func reply(code int, e1, e2, e3 int, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{e1, e2, e3}, Message: msg}
}

// Replies (RFC 5321 §4.2 codes, RFC 3463 enhanced codes).
var (
	errAuthRequired   = reply(530, 5, 7, 0, "Authentication required")
	errStartTLSFirst  = reply(530, 5, 7, 0, "Must issue a STARTTLS command first")
	errNoAuthHere     = reply(502, 5, 5, 1, "AUTH is not available on this port; submit mail on port 587 or 465")
	errAuthFailed     = reply(535, 5, 7, 8, "Authentication credentials invalid")
	errAuthThrottled  = reply(454, 4, 7, 0, "Too many failed logins, try again later")
	errAddressBlocked = reply(421, 4, 7, 0, "Too many failed logins from your address, try again later")
	errAuthTemp       = reply(454, 4, 7, 0, "Temporary authentication failure")
	errAuthSyntax     = reply(501, 5, 5, 2, "Malformed authentication data")
	errAuthzid        = reply(535, 5, 7, 8, "Authorization identity must be empty or equal the user name")
	errAuthMechanism  = reply(504, 5, 7, 4, "Unsupported authentication mechanism")
	errNestedMail     = reply(503, 5, 5, 1, "Sender already specified; send RSET first")
	errBadSender      = reply(553, 5, 1, 7, "Bad sender address syntax")
	errNullSender     = reply(553, 5, 7, 1, "Submitted mail needs a sender address of yours")
	errNotYourSender  = reply(553, 5, 7, 1, "Sender address is not yours")
	errNotYourFrom    = reply(553, 5, 7, 1, "From: or Sender: header address is not yours")
	errBadFrom        = reply(553, 5, 7, 1, "From: or Sender: header cannot be read, so the sender cannot be checked")
	errRelayDenied    = reply(554, 5, 7, 1, "Relay access denied")
	errUnknownUser    = reply(550, 5, 1, 1, "No such user here")
	errBadRecipient   = reply(553, 5, 1, 3, "Bad recipient address syntax")
	errLoop           = reply(554, 5, 4, 6, "Mail forwarding loop for this address")
	errNoQueue        = reply(451, 4, 4, 0, "Delivery to other domains is not available yet, try again later")
	errTempLocal      = reply(451, 4, 3, 0, "Temporary local problem, try again later")
	errTooBig         = reply(552, 5, 3, 4, "Message size exceeds fixed maximum message size")
	errBareLF         = reply(554, 5, 6, 0, "Message contains a bare LF; lines must end with CRLF (RFC 5321 §2.3.8)")
	errBareCR         = reply(554, 5, 6, 0, "Message contains a bare CR; closing connection (RFC 5321 §2.3.8)")
	errNUL            = reply(554, 5, 6, 0, "Message contains NUL bytes")
	errLineTooLong    = reply(500, 5, 5, 2, "Line too long, closing connection")
	errDataTimeout    = reply(421, 4, 4, 2, "Timeout waiting for message data, closing connection")
	errTooManyErrors  = reply(421, 4, 7, 0, "Too many errors, closing connection")
	errShuttingDown   = reply(421, 4, 3, 2, "Service shutting down, try again later")
	errConnectionGone = reply(421, 4, 4, 0, "Connection closing")
	// RFC 3463 §3.3: X.2.2 mailbox full; temporary, as the user may make
	// room (RFC 5321 §4.2.2 452 "insufficient system storage").
	errMailboxFull = reply(452, 4, 2, 2, "Mailbox full, try again later")
	// errDisabled: the account is disabled and the server is configured
	// to refuse its mail (RFC 3463 X.2.1 "mailbox disabled").
	errDisabled = reply(550, 5, 2, 1, "Mailbox disabled, not accepting messages")
)

// rcptError maps an error of delivery.Deliverer.Resolve to a RCPT reply.
func rcptError(err error) *smtp.SMTPError {
	switch {
	case errors.Is(err, directory.ErrNotLocal):
		return errRelayDenied
	case errors.Is(err, directory.ErrUnknownUser):
		return errUnknownUser
	case errors.Is(err, directory.ErrBadAddress):
		return errBadRecipient
	case errors.Is(err, directory.ErrLoop):
		return errLoop
	case errors.Is(err, delivery.ErrNoQueue):
		return errNoQueue
	case errors.Is(err, store.ErrOverQuota):
		return errMailboxFull
	case errors.Is(err, delivery.ErrDisabled):
		return errDisabled
	}
	return errTempLocal
}

// deliverError maps an error of delivery.Deliverer.Deliver to the reply
// to DATA. Every failure to store is temporary: the client keeps the
// message and retries.
func deliverError(err error) *smtp.SMTPError {
	switch {
	case errors.Is(err, delivery.ErrNoQueue):
		return errNoQueue
	case errors.Is(err, store.ErrOverQuota):
		return errMailboxFull
	case errors.Is(err, context.Canceled):
		return errShuttingDown
	}
	return errTempLocal
}
