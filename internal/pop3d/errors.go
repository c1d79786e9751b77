package pop3d

import (
	"errors"
	"fmt"
)

// errKind says which session counter a negative reply counts toward.
type errKind int

const (
	// kindProtocol: a client error (unknown command, bad argument, wrong
	// state, no such message); MaxErrors of them close the session.
	kindProtocol errKind = iota + 1
	// kindAuth: a failed login; Config.MaxAuthFail of them close it.
	kindAuth
	// kindOther: neither (a locked maildrop, a server-side failure).
	kindOther
)

// replyError is a negative reply. Handlers return it; session.reply maps
// it to "-ERR [CODE] text" in one place, logs its cause and counts it.
type replyError struct {
	kind errKind
	// code is an RFC 2449 §8 / RFC 3206 response code, or "".
	code string
	// text goes to the client; it must not reveal internals.
	text string
	// cause is logged, never sent.
	cause error
	// close ends the session after the reply.
	close bool
}

func (e *replyError) Error() string {
	if e.cause != nil {
		return e.text + ": " + e.cause.Error()
	}
	return e.text
}

func (e *replyError) Unwrap() error { return e.cause }

// line is the reply as sent, without CRLF.
func (e *replyError) line() string {
	if e.code != "" {
		return "-ERR [" + e.code + "] " + sanitizeText(e.text)
	}
	return "-ERR " + sanitizeText(e.text)
}

func protoErr(code, format string, args ...any) *replyError {
	return &replyError{kind: kindProtocol, code: code, text: fmt.Sprintf(format, args...)}
}

// authFailed is RFC 3206's reply for bad credentials. ErrThrottled maps
// to it too, as internal/auth asks, so that neither tells anything.
func authFailed(cause error) *replyError {
	return &replyError{kind: kindAuth, code: "AUTH", text: "authentication failed", cause: cause}
}

// tempFailure is a server-side problem; the client may retry later.
func tempFailure(cause error) *replyError {
	return &replyError{kind: kindOther, code: "SYS/TEMP", text: "temporary server error, try again later", cause: cause}
}

// errQuit ends the session after a QUIT reply was written.
var errQuit = errors.New("quit")
