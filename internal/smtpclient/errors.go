package smtpclient

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is why a message was not accepted for a recipient: a reply of the
// next hop, or a local failure (Code 0: no server answered) with the
// RFC 3463 status code that describes it.
type Error struct {
	Code      int    // SMTP reply code; 0 when no server said it
	Enhanced  string // RFC 3463 code such as "5.1.1"; may be empty for a reply without one
	Message   string // the reply's text, or what went wrong
	Host      string // the server that said it, if any
	Temporary bool   // worth trying again later
	// TLSFailure: the failure was in TLS (for MTA-STS reporting and logs).
	TLSFailure bool
}

func (e *Error) Error() string {
	s := ""
	if e.Code != 0 {
		s = strconv.Itoa(e.Code) + " "
	}
	if e.Enhanced != "" {
		s += e.Enhanced + " "
	}
	s += e.Message
	if e.Host != "" && e.Code != 0 {
		s = fmt.Sprintf("%s said: %s", e.Host, s)
	}
	return s
}

// Status is the RFC 3463 code of the failure, derived from the reply
// code when the server gave none.
func (e *Error) Status() string {
	if e.Enhanced != "" {
		return e.Enhanced
	}
	if e.Temporary {
		return "4.0.0"
	}
	return "5.0.0"
}

// Permanent reports whether err is a permanent failure.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary
}
