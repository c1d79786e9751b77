package importer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// mbox files (RFC 4155, the "default" mbox database format): messages,
// each after a "From sender date" line; lines that would start with
// "From " inside a message were written as ">From ". Writers differ
// (mboxo, mboxrd, Content-Length based mboxcl), so the reader is
// lenient: a "From " line starts a message only at the start of the file
// or after a blank line, and only when it carries a date, which keeps an
// unescaped "From " line in a body from splitting its message.

// mboxMessage is one message of an mbox.
type mboxMessage struct {
	fromLine string // the separator line without "From " and line ending
	data     []byte // the message, ">From " escaping undone
	size     int64  // its size in the file, separator included
	tooLarge bool   // over the limit: data is incomplete
}

// mboxReader splits an mbox stream into messages.
type mboxReader struct {
	r       *bufio.Reader
	max     int64
	pending string // the separator line read ahead, for the next message
	started bool
	done    bool
}

func newMboxReader(r io.Reader, max int64) *mboxReader {
	return &mboxReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// errNotMbox: the data does not start with a "From " line.
var errNotMbox = errors.New("not an mbox file (it does not start with a \"From \" line)")

// readLine returns the next line with its line ending; "" at the end.
func (m *mboxReader) readLine() ([]byte, error) {
	line, err := m.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = m.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return line, err
}

// Next returns the next message, or io.EOF after the last.
func (m *mboxReader) Next() (*mboxMessage, error) {
	if m.done {
		return nil, io.EOF
	}
	if !m.started {
		m.started = true
		for {
			line, err := m.readLine()
			if err != nil {
				return nil, err
			}
			if len(line) == 0 {
				m.done = true
				return nil, io.EOF
			}
			if isBlank(line) {
				continue
			}
			if !bytes.HasPrefix(line, []byte("From ")) {
				return nil, errNotMbox
			}
			m.pending = trimEOL(string(line))
			break
		}
	}
	msg := &mboxMessage{fromLine: strings.TrimPrefix(m.pending, "From "), size: int64(len(m.pending)) + 1}
	var buf bytes.Buffer
	prevBlank := false
	for {
		line, err := m.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			m.done = true
			break
		}
		if prevBlank && bytes.HasPrefix(line, []byte("From ")) && plausibleFromLine(trimEOL(string(line))) {
			m.pending = trimEOL(string(line))
			break
		}
		msg.size += int64(len(line))
		prevBlank = isBlank(line)
		if msg.tooLarge {
			continue
		}
		// mboxrd: one '>' comes off a line that is '>'s then "From ".
		if k := countPrefix(line, '>'); k > 0 && bytes.HasPrefix(line[k:], []byte("From ")) {
			line = line[1:]
		}
		if int64(buf.Len()+len(line)) > m.max {
			msg.tooLarge = true
			continue
		}
		buf.Write(line)
	}
	msg.data = trimSeparatorBlank(buf.Bytes())
	return msg, nil
}

func isBlank(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

func trimEOL(s string) string {
	return strings.TrimRight(s, "\r\n")
}

func countPrefix(b []byte, c byte) int {
	n := 0
	for n < len(b) && b[n] == c {
		n++
	}
	return n
}

// trimSeparatorBlank drops the blank line that separates a message from
// the next "From " line: it belongs to the format, not the message.
func trimSeparatorBlank(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		return b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	}
	return b
}

// plausibleFromLine reports whether a "From " line looks like a
// separator: a sender, then a date with a clock time and a year.
func plausibleFromLine(line string) bool {
	f := strings.Fields(strings.TrimPrefix(line, "From "))
	if len(f) < 3 {
		return false
	}
	clock, year := false, false
	for _, w := range f[1:] {
		if strings.Count(w, ":") >= 1 && len(w) >= 4 && len(w) <= 8 && w[0] >= '0' && w[0] <= '9' {
			clock = true
		}
		if n, err := strconv.Atoi(w); err == nil && len(w) == 4 && n >= 1970 && n <= 2200 {
			year = true
		}
	}
	return clock && year
}

// mboxDate reads the date of a "From " line ("sender Mon Jan  2
// 15:04:05 2006", with or without a zone). The zero time when it has
// none.
func mboxDate(fromLine string) time.Time {
	f := strings.Fields(fromLine)
	layouts := []string{
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"Mon Jan 2 15:04:05 2006 -0700",
		"Mon Jan 2 15:04 2006",
		"Mon, 2 Jan 2006 15:04:05 -0700",
	}
	// The sender is usually one word; try the date from each later word.
	for start := 1; start < len(f) && start <= 3; start++ {
		rest := strings.Join(f[start:], " ")
		for _, l := range layouts {
			if t, err := time.Parse(l, rest); err == nil {
				return t
			}
		}
		if t, ok := message.ParseDate(rest); ok {
			return t
		}
	}
	return time.Time{}
}

// mboxStateFields are header fields mail programs keep their state in
// inside mbox files; they are read for flags and then removed, as
// Dovecot hides them.
var mboxStateFields = []string{
	"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
	"X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys", "Content-Length",
}

// Mozilla status bits (nsMsgMessageFlags).
const (
	mozRead      = 0x0001
	mozReplied   = 0x0002
	mozMarked    = 0x0004
	mozExpunged  = 0x0008
	mozForwarded = 0x1000
)

// mboxFlags reads the flags a message's state headers hold, and returns
// the message without those headers. expunged is true for a message
// Thunderbird deleted but had not compacted away yet.
func mboxFlags(data []byte) (out []byte, flags []string, expunged bool) {
	hdr := headerOf(data)
	fields := message.Fields(hdr)
	strip := false
	for _, f := range fields {
		name := f.Name
		switch {
		case strings.EqualFold(name, "Status"):
			if strings.Contains(f.Value, "R") {
				flags = append(flags, store.FlagSeen)
			}
		case strings.EqualFold(name, "X-Status"):
			for _, c := range f.Value {
				switch c {
				case 'A':
					flags = append(flags, store.FlagAnswered)
				case 'F':
					flags = append(flags, store.FlagFlagged)
				case 'T':
					flags = append(flags, store.FlagDraft)
				case 'D':
					flags = append(flags, store.FlagDeleted)
				}
			}
		case strings.EqualFold(name, "X-Keywords"), strings.EqualFold(name, "X-Mozilla-Keys"):
			flags = append(flags, strings.FieldsFunc(f.Value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
		case strings.EqualFold(name, "X-Mozilla-Status"):
			v, err := strconv.ParseUint(strings.TrimSpace(f.Value), 16, 32)
			if err != nil {
				break
			}
			if v&mozRead != 0 {
				flags = append(flags, store.FlagSeen)
			}
			if v&mozReplied != 0 {
				flags = append(flags, store.FlagAnswered)
			}
			if v&mozMarked != 0 {
				flags = append(flags, store.FlagFlagged)
			}
			if v&mozForwarded != 0 {
				flags = append(flags, "$Forwarded")
			}
			expunged = v&mozExpunged != 0
		}
		for _, s := range mboxStateFields {
			if strings.EqualFold(name, s) {
				strip = true
			}
		}
	}
	if !strip {
		return data, cleanFlags(flags), expunged
	}
	var b bytes.Buffer
	b.Grow(len(data))
	for _, f := range fields {
		keep := true
		for _, s := range mboxStateFields {
			if strings.EqualFold(f.Name, s) {
				keep = false
			}
		}
		if keep {
			b.Write(f.Raw)
		}
	}
	// The blank line that ends the header, then the body.
	switch {
	case bytes.HasSuffix(hdr, []byte("\r\n\r\n")):
		b.WriteString("\r\n")
	case bytes.HasSuffix(hdr, []byte("\n\n")):
		b.WriteString("\n")
	}
	b.Write(data[len(hdr):])
	return b.Bytes(), cleanFlags(flags), expunged
}
