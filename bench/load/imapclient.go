package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// imapClient is a minimal IMAP4rev1/rev2 client: enough to run the mix
// against any server, with little client-side CPU so the server is what
// gets measured. Untagged responses are returned as raw lines (literals
// inlined).
type imapClient struct {
	*conn
	tag      int
	caps     map[string]bool
	untagged [][]byte // responses of the last command; reused
	buf      []byte
}

// Limits on what a server may send the load generator.
const (
	maxLiteral  = 64 << 20 // one literal (messages are far smaller)
	maxResponse = 80 << 20 // one response with its literals
)

// ErrNo is a tagged NO or BAD.
type ErrNo struct{ Line string }

func (e *ErrNo) Error() string { return "server said: " + e.Line }

func dialIMAP(t Target) (*imapClient, error) {
	c, err := dial(t)
	if err != nil {
		return nil, err
	}
	ic := &imapClient{conn: c, caps: map[string]bool{}}
	c.deadline()
	greet, err := ic.readResponse()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !bytes.HasPrefix(greet, []byte("* OK")) && !bytes.HasPrefix(greet, []byte("* PREAUTH")) {
		c.Close()
		return nil, fmt.Errorf("greeting: %q", greet)
	}
	ic.parseCaps(greet)
	if t.TLS == TLSStart {
		if _, err := ic.cmd("STARTTLS"); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.startTLS(t); err != nil {
			c.Close()
			return nil, err
		}
		ic.caps = map[string]bool{}
	}
	if len(ic.caps) == 0 {
		if _, err := ic.cmd("CAPABILITY"); err != nil {
			c.Close()
			return nil, err
		}
	}
	return ic, nil
}

// parseCaps reads a CAPABILITY response or response code in line.
func (c *imapClient) parseCaps(line []byte) {
	s := string(line)
	i := strings.Index(asciiUpper(s), "CAPABILITY ")
	if i < 0 {
		return
	}
	s = s[i+len("CAPABILITY "):]
	if j := strings.IndexByte(s, ']'); j >= 0 {
		s = s[:j]
	}
	c.caps = map[string]bool{}
	for _, f := range strings.Fields(s) {
		c.caps[asciiUpper(f)] = true
	}
}

// readResponse reads one response line, with any literals it carries
// appended in place (the literal's bytes follow its {n} marker).
func (c *imapClient) readResponse() ([]byte, error) {
	c.buf = c.buf[:0]
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		c.buf = append(c.buf, line...)
		n, ok := literalSize(line)
		if !ok {
			return c.buf, nil
		}
		if n > maxLiteral || len(c.buf)+n > maxResponse {
			return nil, fmt.Errorf("response over %d bytes", maxResponse)
		}
		c.buf = append(c.buf, '\r', '\n')
		start := len(c.buf)
		c.buf = append(c.buf, make([]byte, n)...)
		if _, err := io.ReadFull(c.r, c.buf[start:]); err != nil {
			return nil, err
		}
	}
}

// literalSize reports whether line ends in a literal marker {n} or {n+}.
func literalSize(line []byte) (int, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(string(line[i+1:len(line)-1]), "+")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// cmd sends one command (without tag) and reads to its tagged reply. It
// returns the tagged line; untagged lines are in c.untagged until the
// next command. A NO or BAD is an *ErrNo.
func (c *imapClient) cmd(format string, args ...any) (string, error) {
	tag := c.nextTag()
	c.deadline()
	fmt.Fprintf(c.w, "%s ", tag)
	fmt.Fprintf(c.w, format, args...)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	return c.finish(tag)
}

func (c *imapClient) nextTag() string {
	c.tag++
	return "a" + strconv.Itoa(c.tag)
}

// finish reads responses until the tagged one for tag.
func (c *imapClient) finish(tag string) (string, error) {
	c.untagged = c.untagged[:0]
	for {
		resp, err := c.readResponse()
		if err != nil {
			return "", err
		}
		if len(resp) > len(tag) && string(resp[:len(tag)]) == tag && resp[len(tag)] == ' ' {
			line := string(resp)
			rest := line[len(tag)+1:]
			c.parseCaps(resp)
			if strings.HasPrefix(rest, "OK") {
				return line, nil
			}
			return line, &ErrNo{line}
		}
		if bytes.HasPrefix(resp, []byte("* CAPABILITY ")) || bytes.HasPrefix(resp, []byte("* OK [CAPABILITY ")) {
			c.parseCaps(resp)
		}
		c.untagged = append(c.untagged, append([]byte(nil), resp...))
	}
}

// login authenticates with LOGIN (quoted strings).
func (c *imapClient) login(user, pass string) error {
	_, err := c.cmd("LOGIN %s %s", quote(user), quote(pass))
	if err == nil && len(c.caps) == 0 {
		_, err = c.cmd("CAPABILITY")
	}
	return err
}

// appendMsg APPENDs msg to mailbox and returns the new UID when the
// server says APPENDUID (RFC 4315 §3), else 0. LITERAL+ (RFC 7888) is
// used when offered, else a synchronising literal.
func (c *imapClient) appendMsg(mailbox string, flags string, msg []byte) (uint32, error) {
	tag := c.nextTag()
	c.deadline()
	plus := c.caps["LITERAL+"] || (c.caps["LITERAL-"] && len(msg) <= 4096)
	if plus {
		fmt.Fprintf(c.w, "%s APPEND %s (%s) {%d+}\r\n", tag, quote(mailbox), flags, len(msg))
	} else {
		fmt.Fprintf(c.w, "%s APPEND %s (%s) {%d}\r\n", tag, quote(mailbox), flags, len(msg))
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
		for {
			resp, err := c.readResponse()
			if err != nil {
				return 0, err
			}
			if bytes.HasPrefix(resp, []byte("+")) {
				break
			}
			if bytes.HasPrefix(resp, []byte(tag+" ")) {
				return 0, &ErrNo{string(resp)}
			}
		}
	}
	c.w.Write(msg)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	line, err := c.finish(tag)
	if err != nil {
		return 0, err
	}
	if i := strings.Index(asciiUpper(line), "[APPENDUID "); i >= 0 {
		f := strings.Fields(line[i+len("[APPENDUID "):])
		if len(f) >= 2 {
			uid, _ := strconv.ParseUint(strings.TrimSuffix(f[1], "]"), 10, 32)
			return uint32(uid), nil
		}
	}
	return 0, nil
}

// status returns the MESSAGES count of a mailbox.
func (c *imapClient) status(mailbox string) (int, error) {
	if _, err := c.cmd("STATUS %s (MESSAGES)", quote(mailbox)); err != nil {
		return 0, err
	}
	for _, u := range c.untagged {
		s := string(u)
		if i := strings.Index(asciiUpper(s), "MESSAGES "); i >= 0 && strings.HasPrefix(asciiUpper(s), "* STATUS") {
			f := strings.FieldsFunc(s[i+len("MESSAGES "):], func(r rune) bool { return r == ' ' || r == ')' })
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("no STATUS MESSAGES in reply")
}

// idle enters IDLE (RFC 2177), waits for the continuation, holds for
// hold (reading any updates), then sends DONE and reads the tagged OK.
// It returns the time to the continuation plus the time from DONE to OK.
func (c *imapClient) idle(hold time.Duration) (time.Duration, error) {
	tag := c.nextTag()
	c.deadline()
	start := time.Now()
	fmt.Fprintf(c.w, "%s IDLE\r\n", tag)
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	for {
		resp, err := c.readResponse()
		if err != nil {
			return 0, err
		}
		if bytes.HasPrefix(resp, []byte("+")) {
			break
		}
		if bytes.HasPrefix(resp, []byte(tag+" ")) {
			return 0, &ErrNo{string(resp)}
		}
	}
	entered := time.Since(start)
	if hold > 0 {
		time.Sleep(hold)
	}
	c.deadline()
	done := time.Now()
	c.w.WriteString("DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	if _, err := c.finish(tag); err != nil {
		return 0, err
	}
	return entered + time.Since(done), nil
}

func (c *imapClient) logout() {
	_, _ = c.cmd("LOGOUT")
	c.Close()
}

// quote makes an IMAP quoted string.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// parseUIDs extracts UIDs from "* SEARCH ..." / "* ESEARCH ... ALL set"
// and "* n FETCH (... UID u ...)" responses.
func parseUIDs(untagged [][]byte, dst []uint32) []uint32 {
	for _, u := range untagged {
		s := string(u)
		switch {
		case strings.HasPrefix(s, "* SEARCH"):
			for _, f := range strings.Fields(s[len("* SEARCH"):]) {
				if n, err := strconv.ParseUint(f, 10, 32); err == nil {
					dst = append(dst, uint32(n))
				}
			}
		case strings.Contains(s, " FETCH ("):
			i := strings.Index(s, "UID ")
			if i < 0 {
				continue
			}
			f := strings.FieldsFunc(s[i+4:], func(r rune) bool { return r == ' ' || r == ')' })
			if len(f) > 0 {
				if n, err := strconv.ParseUint(f[0], 10, 32); err == nil {
					dst = append(dst, uint32(n))
				}
			}
		}
	}
	return dst
}

// asciiUpper upper-cases ASCII letters only, keeping every byte where it
// was, so an index found in the result is valid in the original
// (strings.ToUpper may change the length of non-ASCII text).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
