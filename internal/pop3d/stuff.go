package pop3d

import (
	"bufio"
	"bytes"
)

// The POP3 view of a stored message: every line ends in CRLF (a bare LF
// becomes CRLF, as messages APPENDed over IMAP may have them; a lone CR
// is left alone), and a last line without an ending gets CRLF. RFC 1939
// §11 defines sizes on the message "with CRLF"; LIST, STAT and RETR's
// octet count are the size of this view, before dot-stuffing, which is
// what RETR sends once the client has removed the stuffing.

// popSize is the octet count of data's POP3 view.
func popSize(data []byte) int64 {
	n := int64(len(data))
	if n == 0 {
		return 0
	}
	lf := bytes.Count(data, []byte("\n"))
	crlf := bytes.Count(data, []byte("\r\n"))
	n += int64(lf - crlf) // each bare LF gains a CR
	if data[len(data)-1] != '\n' {
		n += 2
	}
	return n
}

// writeMessage writes data's POP3 view dot-stuffed (RFC 1939 §3: a line
// starting with "." gets another one) and the ".\r\n" terminator.
func writeMessage(w *bufio.Writer, data []byte) error {
	forLines(data, func(line []byte) bool {
		writeStuffedLine(w, line)
		return true
	})
	_, err := w.WriteString(".\r\n")
	return err
}

// writeTop writes the header of data's POP3 view, the blank line after
// it, and the first n lines of the body (RFC 1939 §7 TOP), dot-stuffed
// and terminated. A message without a blank line is all header.
func writeTop(w *bufio.Writer, data []byte, n int) error {
	inHeader := true
	forLines(data, func(line []byte) bool {
		if inHeader {
			writeStuffedLine(w, line)
			if len(line) == 0 {
				inHeader = false
			}
			return true
		}
		if n <= 0 {
			return false
		}
		n--
		writeStuffedLine(w, line)
		return true
	})
	_, err := w.WriteString(".\r\n")
	return err
}

// writeStuffedLine writes one line of the view and CRLF. bufio.Writer
// keeps its first error and returns it from the final write or Flush.
func writeStuffedLine(w *bufio.Writer, line []byte) {
	if len(line) > 0 && line[0] == '.' {
		_ = w.WriteByte('.')
	}
	_, _ = w.Write(line)
	_, _ = w.WriteString("\r\n")
}

// forLines calls fn with each line of data's POP3 view, without its line
// ending, until fn returns false.
func forLines(data []byte, fn func(line []byte) bool) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
		}
		if !fn(line) {
			return
		}
	}
}
