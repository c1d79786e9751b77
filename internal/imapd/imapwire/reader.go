// Package imapwire is mailhouse's IMAP wire format: it reads client
// commands off a connection (lines, synchronising and non-synchronising
// literals, with limits), parses them into typed commands (RFC 9051 §9
// grammar, with the extensions imapd announces), and encodes the strings,
// lists and dates of server responses.
//
// It knows nothing of mailboxes or sessions: internal/imapd decides what a
// command means. Every parser here is fuzzed; a malformed command is an
// error for a tagged BAD, never a panic.
package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Raw is one command as read from the client: the text of its lines
// (without CRLF) and the literals that follow each line but the last.
// Lines[i] ends with the literal marker ("{n}", "{n+}", "~{n}") for Lits[i].
type Raw struct {
	Lines [][]byte
	Lits  [][]byte
}

// Size is the number of bytes of the command's lines and literals.
func (r *Raw) Size() int {
	n := 0
	for _, l := range r.Lines {
		n += len(l) + 2
	}
	for _, l := range r.Lits {
		n += len(l)
	}
	return n
}

// ReadError is a command the reader refused. The connection is still in
// step with the client unless Fatal is set: the session answers Tag with
// a tagged BAD (or NO when Code is "TOOBIG") and goes on.
type ReadError struct {
	Tag   string // "*" when no tag could be read
	Code  string // response code, e.g. "TOOBIG"; may be empty
	Msg   string
	Fatal bool // the client will send data we refuse to read: close the connection
}

func (e *ReadError) Error() string { return e.Msg }

// ReaderOptions bound what a Reader accepts.
type ReaderOptions struct {
	// MaxLine is the longest line (without CRLF) of a command.
	MaxLine int
	// MaxLiterals is the most literals one command may carry.
	MaxLiterals int
	// LiteralLimit returns the largest literal the command may carry,
	// given its first line (tag and command name): APPEND gets the
	// APPENDLIMIT, other commands much less.
	LiteralLimit func(firstLine []byte) int64
	// Continue is called before the data of a synchronising literal is
	// read; it sends "+ ..." to the client and flushes (RFC 9051 §7.5).
	Continue func() error
}

// Reader reads commands.
type Reader struct {
	br *bufio.Reader
	o  ReaderOptions
}

// NewReader returns a Reader on br.
func NewReader(br *bufio.Reader, o ReaderOptions) *Reader {
	if o.MaxLine <= 0 {
		o.MaxLine = 8192
	}
	if o.MaxLiterals <= 0 {
		o.MaxLiterals = 1000
	}
	return &Reader{br: br, o: o}
}

// SetBufio replaces the underlying reader (after STARTTLS).
func (r *Reader) SetBufio(br *bufio.Reader) { r.br = br }

// ReadLine reads one line (without CRLF) of at most MaxLine bytes, for
// AUTHENTICATE responses and IDLE's DONE. A longer line is discarded and
// gives a *ReadError.
func (r *Reader) ReadLine() ([]byte, error) {
	line, _, err := r.readLine()
	if err != nil {
		return nil, err
	}
	if line == nil {
		return nil, &ReadError{Tag: "*", Msg: "line too long"}
	}
	return line, nil
}

// overlong describes a discarded line: its first and last bytes (to find
// its tag and a literal marker).
type overlong struct{ head, tail []byte }

// readLine reads a line. When it is longer than MaxLine, the line is
// discarded, line is nil and over describes it.
func (r *Reader) readLine() (line []byte, over *overlong, err error) {
	var buf []byte
	for {
		frag, err := r.br.ReadSlice('\n')
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			if buf == nil && err == nil && len(frag) <= r.o.MaxLine+2 {
				// The common case: the whole line was in the buffer.
				buf = append(make([]byte, 0, len(frag)), frag...)
				return trimEOL(buf), nil, nil
			}
			buf = append(buf, frag...)
			if len(buf) > r.o.MaxLine+2 {
				head := append([]byte(nil), buf[:min(len(buf), 80)]...)
				t, derr := r.discardLine(buf, err == nil)
				return nil, &overlong{head, t}, derr
			}
			if err == nil {
				return trimEOL(buf), nil, nil
			}
			continue
		}
		if err == io.EOF && len(buf)+len(frag) > 0 {
			return nil, nil, io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
}

// discardLine reads up to the end of an overlong line and returns its
// last bytes.
func (r *Reader) discardLine(buf []byte, complete bool) ([]byte, error) {
	const keep = 32
	tail := append([]byte(nil), buf[max(0, len(buf)-keep):]...)
	for !complete {
		frag, err := r.br.ReadSlice('\n')
		switch {
		case err == nil:
			complete = true
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return nil, err
		}
		tail = append(tail, frag...)
		if len(tail) > keep {
			tail = append(tail[:0], tail[len(tail)-keep:]...)
		}
	}
	return trimEOL(tail), nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// literalMarker finds a literal announcement at the end of a line:
// "{n}", "{n+}", "{n-}"... and "~{n}" (RFC 9051 literal8, RFC 3516).
// ok is false when the line does not end with one.
func literalMarker(line []byte) (n int64, sync, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	digits := line[i+1 : len(line)-1]
	sync = true
	if len(digits) > 0 && digits[len(digits)-1] == '+' {
		sync = false
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 || len(digits) > 10 {
		return 0, false, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		n = n*10 + int64(c-'0')
	}
	// RFC 9051 §4.3: number is an unsigned 32-bit integer.
	if n > 1<<32-1 {
		return 0, false, false
	}
	return n, sync, true
}

// firstWord returns the tag of a command line, or "*" when it has none.
func firstWord(line []byte) string {
	if i := bytes.IndexByte(line, ' '); i > 0 {
		line = line[:i]
	}
	if len(line) == 0 || len(line) > 64 || !isTag(line) {
		return "*"
	}
	return string(line)
}

func isTag(b []byte) bool {
	for _, c := range b {
		if !isAtomChar(c) || c == '+' {
			return false
		}
	}
	return len(b) > 0
}

// ReadCommand reads one whole command: its first line, and for every
// literal announced at a line's end the literal's data and the next line.
// A synchronising literal is accepted (Continue) before its data is read;
// one over the limit ends the command with a non-fatal *ReadError, as the
// client waits for our answer. A non-synchronising literal over the limit
// gives a fatal *ReadError without reading its data (RFC 7888 §4: the
// server may close the connection rather than read it).
func (r *Reader) ReadCommand() (*Raw, error) {
	raw := &Raw{}
	limit := int64(-1)
	tag := "*"
	for {
		line, over, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if len(raw.Lines) == 0 {
			if line != nil {
				tag = firstWord(line)
			} else {
				tag = firstWord(over.head)
			}
		}
		if line == nil {
			// Too long: the command is lost. Stay in step with the client.
			if _, sync, ok := literalMarker(over.tail); ok && !sync {
				return nil, &ReadError{Tag: tag, Msg: "command line too long", Fatal: true}
			}
			return nil, &ReadError{Tag: tag, Msg: "command line too long"}
		}
		raw.Lines = append(raw.Lines, line)
		n, sync, ok := literalMarker(line)
		if !ok {
			return raw, nil
		}
		if limit < 0 {
			limit = 0
			if r.o.LiteralLimit != nil {
				limit = r.o.LiteralLimit(raw.Lines[0])
			}
		}
		if len(raw.Lits) >= r.o.MaxLiterals {
			if sync {
				return nil, &ReadError{Tag: tag, Msg: "too many literals"}
			}
			return nil, &ReadError{Tag: tag, Msg: "too many literals", Fatal: true}
		}
		if n > limit {
			// RFC 7889 §3 / RFC 9051 §7.1: TOOBIG.
			msg := fmt.Sprintf("literal of %d bytes is over the limit of %d", n, limit)
			return nil, &ReadError{Tag: tag, Code: "TOOBIG", Msg: msg, Fatal: !sync}
		}
		if sync && r.o.Continue != nil {
			if err := r.o.Continue(); err != nil {
				return nil, err
			}
		}
		// Grow the buffer as data arrives rather than trusting n up front.
		var lit bytes.Buffer
		lit.Grow(int(min(n, 64<<10)))
		if _, err := io.CopyN(&lit, r.br, n); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		raw.Lits = append(raw.Lits, lit.Bytes())
	}
}
