package pop3d

import (
	"strings"
)

// Line limits.
const (
	// maxCommandLine is RFC 2449 §4's limit on a command, CRLF included.
	maxCommandLine = 255
	// maxCredentialLine bounds PASS and AUTH lines (and SASL responses),
	// which carry passwords that may be longer than RFC 2449 allows for;
	// the figure is RFC 4954 §4's for SMTP AUTH.
	maxCredentialLine = 12288
	// maxArgLen is RFC 2449 §4's limit on one argument.
	maxArgLen = 40
	// maxDiscard bounds how much of an over-long line is read and thrown
	// away before the connection is closed.
	maxDiscard = 64 << 10
)

// command is one parsed command line (RFC 2449 §3): a keyword of three
// or four letters, case-insensitive, then arguments.
type command struct {
	verb string // upper-case keyword
	// rest is everything after the keyword and one space, as sent. PASS
	// takes it whole (a password may hold spaces, as most servers allow).
	rest string
	args []string // rest split on spaces, for every other command
}

// parseCommand parses a command line without its line ending. Its errors
// are *replyError values ready to send.
func parseCommand(line []byte) (command, error) {
	if len(line) == 0 {
		return command{}, protoErr("", "empty command line")
	}
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return command{}, protoErr("", "control character in command line")
		}
	}
	verb, rest, _ := strings.Cut(string(line), " ")
	if len(verb) < 3 || len(verb) > 4 || !isLetters(verb) {
		return command{}, protoErr("", "unknown command")
	}
	cmd := command{verb: strings.ToUpper(verb), rest: rest}
	limit := maxCommandLine
	if cmd.verb == "PASS" || cmd.verb == "AUTH" {
		limit = maxCredentialLine
	}
	if len(line)+2 > limit {
		return command{}, protoErr("", "command line too long")
	}
	if cmd.verb == "PASS" {
		return cmd, nil
	}
	cmd.args = strings.Fields(rest)
	for _, a := range cmd.args {
		if len(a) > maxArgLen && cmd.verb != "AUTH" {
			return command{}, protoErr("", "argument too long")
		}
	}
	return cmd, nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// parseNumber parses a decimal argument: digits only, no sign. Values
// past maxNumber saturate there: fetchmail asks "TOP n 99999999" for a
// whole message, and no maildrop has that many messages.
func parseNumber(s string) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int(c-'0'), maxNumber)
	}
	return n, true
}

// maxNumber is where parseNumber saturates.
const maxNumber = 1 << 30
