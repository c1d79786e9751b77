package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// maxReplyLines bounds one multi-line reply, and maxReplyBytes its text,
// so that a hostile server cannot make us buffer without end.
const (
	maxReplyLines = 100
	maxReplyBytes = 64 << 10
)

// Conn is one SMTP connection to a next hop, after the greeting, EHLO and
// (when it happened) STARTTLS and AUTH. It sends any number of messages
// one after the other (RFC 5321 §3.3: a new MAIL after a completed
// transaction). It is not safe for concurrent use.
type Conn struct {
	nc   net.Conn
	r    *bufio.Reader
	tp   *textproto.Writer
	ext  map[string]string
	name string // our EHLO name

	// Host is the name of the server (MX or route host), IP its address.
	Host string
	IP   string
	// TLS is the state of the TLS session, nil without one.
	TLS *tls.ConnectionState
	// Verified: the server's certificate was verified for Host.
	Verified bool

	commandTimeout time.Duration
	dataTimeout    time.Duration
	broken         bool // a network error or protocol violation: discard
}

// reply is one SMTP reply.
type reply struct {
	code int
	text string // the lines' texts joined by "\n"
}

func (r reply) err(host string) *Error {
	e := &Error{Code: r.code, Message: r.text, Host: host, Temporary: r.code < 500}
	if f := strings.Fields(r.text); len(f) > 0 && isEnhanced(f[0], r.code) {
		e.Enhanced = f[0]
		e.Message = strings.TrimSpace(strings.TrimPrefix(r.text, f[0]))
	}
	return e
}

// isEnhanced checks an RFC 3463 status code whose class matches the
// reply's (RFC 2034 §4).
func isEnhanced(s string, code int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(s) > 11 {
		return false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 999 {
			return false
		}
	}
	return parts[0] == strconv.Itoa(code/100)
}

// newConn reads the greeting and says EHLO (HELO if EHLO is refused).
func newConn(nc net.Conn, o *Options, host, ip string) (*Conn, error) {
	c := &Conn{
		nc: nc, r: bufio.NewReaderSize(nc, 4096), tp: textproto.NewWriter(bufio.NewWriter(nc)),
		name: o.Hostname, Host: host, IP: ip,
		commandTimeout: o.CommandTimeout, dataTimeout: o.DataTimeout,
	}
	// RFC 5321 §4.5.3.2.1: 5 minutes for the greeting.
	rep, err := c.read(c.commandTimeout)
	if err != nil {
		return nil, err
	}
	if rep.code != 220 {
		return nil, rep.err(host)
	}
	if err := c.hello(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) hello() error {
	rep, err := c.cmd("EHLO " + c.name)
	if err != nil {
		return err
	}
	if rep.code == 250 {
		c.ext = parseEHLO(rep.text)
		return nil
	}
	if rep.code >= 500 && rep.code != 554 {
		if rep, err = c.cmd("HELO " + c.name); err != nil {
			return err
		}
		if rep.code == 250 {
			c.ext = map[string]string{}
			return nil
		}
	}
	return rep.err(c.Host)
}

// parseEHLO reads the keywords of an EHLO reply (RFC 5321 §4.1.1.1).
func parseEHLO(text string) map[string]string {
	ext := map[string]string{}
	lines := strings.Split(text, "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k != "" {
			ext[strings.ToUpper(k)] = v
		}
	}
	return ext
}

// Has reports whether the server offered an extension.
func (c *Conn) Has(ext string) bool {
	_, ok := c.ext[strings.ToUpper(ext)]
	return ok
}

// startTLS upgrades the connection (RFC 3207) and says EHLO again.
func (c *Conn) startTLS(cfg *tls.Config) error {
	rep, err := c.cmd("STARTTLS")
	if err != nil {
		return err
	}
	if rep.code != 220 {
		e := rep.err(c.Host)
		e.TLSFailure = true
		return e
	}
	tc := tls.Client(c.nc, cfg)
	_ = tc.SetDeadline(time.Now().Add(c.commandTimeout))
	if err := tc.Handshake(); err != nil {
		c.broken = true
		return &Error{Enhanced: "4.7.5", Message: "TLS handshake: " + err.Error(), Host: c.Host, Temporary: true, TLSFailure: true}
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.nc, c.TLS = tc, &st
	c.r = bufio.NewReaderSize(tc, 4096)
	c.tp = textproto.NewWriter(bufio.NewWriter(tc))
	c.Verified = !cfg.InsecureSkipVerify
	return c.hello()
}

// auth logs in with AUTH PLAIN (RFC 4954, RFC 4616).
func (c *Conn) auth(user, pass string) error {
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	rep, err := c.cmd("AUTH PLAIN " + resp)
	if err != nil {
		return err
	}
	if rep.code != 235 {
		return rep.err(c.Host)
	}
	return nil
}

// cmd sends one command line and reads its reply.
func (c *Conn) cmd(line string) (reply, error) {
	if c.broken {
		return reply{}, errBroken(c.Host)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.commandTimeout))
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.broken = true
		return reply{}, netError(c.Host, err)
	}
	return c.read(c.commandTimeout)
}

// read reads one reply within d.
func (c *Conn) read(d time.Duration) (reply, error) {
	if c.broken {
		return reply{}, errBroken(c.Host)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	rep, err := readReply(c.r)
	if err != nil {
		c.broken = true
		return reply{}, netError(c.Host, err)
	}
	return rep, nil
}

var errBadReply = errors.New("malformed reply")

// readReply parses one (possibly multi-line) reply (RFC 5321 §4.2):
// "NNN-text" lines then "NNN text", all with the same code.
func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	var b strings.Builder
	for i := 0; ; i++ {
		if i >= maxReplyLines {
			return rep, fmt.Errorf("%w: more than %d lines", errBadReply, maxReplyLines)
		}
		line, err := readLine(r)
		if err != nil {
			return rep, err
		}
		if len(line) < 3 {
			return rep, fmt.Errorf("%w: %q", errBadReply, line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 || (i > 0 && code != rep.code) {
			return rep, fmt.Errorf("%w: %q", errBadReply, line)
		}
		rep.code = code
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 3 && line[3] != '-' && line[3] != ' ' {
			return rep, fmt.Errorf("%w: %q", errBadReply, line)
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		if len(line) > 4 {
			b.WriteString(line[4:])
		}
		if b.Len() > maxReplyBytes {
			return rep, fmt.Errorf("%w: longer than %d bytes", errBadReply, maxReplyBytes)
		}
		if !more {
			rep.text = b.String()
			return rep, nil
		}
	}
}

// maxLine bounds one reply line (RFC 5321 §4.5.3.1.5 says 512).
const maxLine = 4096

func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		part, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, part...)
		if len(line) > maxLine {
			return "", fmt.Errorf("%w: line longer than %d bytes", errBadReply, maxLine)
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// Message is one message to send.
type Message struct {
	From string // reverse path, "" for <>
	To   []string
	Data []byte // CRLF line endings
	// UTF8: the envelope or header holds UTF-8 (RFC 6531); the server
	// must offer SMTPUTF8 or the message is refused permanently.
	UTF8 bool
	// EightBit: the body holds 8-bit data (RFC 6152 BODY=8BITMIME).
	EightBit bool
}

// RcptResult is the outcome for one recipient: Err nil means accepted.
type RcptResult struct {
	Address string
	Err     *Error
}

// Send runs one mail transaction. It returns a result for every
// recipient; the error is non-nil when the connection can no longer be
// used (the results then say what is known, the rest is temporary).
func (c *Conn) Send(ctx context.Context, m Message) ([]RcptResult, error) {
	res := make([]RcptResult, len(m.To))
	for i, to := range m.To {
		res[i].Address = to
	}
	all := func(e *Error) []RcptResult {
		for i := range res {
			if res[i].Err == nil {
				res[i].Err = e
			}
		}
		return res
	}
	if err := ctx.Err(); err != nil {
		return all(&Error{Enhanced: "4.4.7", Message: "delivery interrupted", Temporary: true}), err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	defer stop()

	if m.UTF8 && !c.Has("SMTPUTF8") {
		// RFC 6531 §3.2: a message that needs SMTPUTF8 must not be sent to
		// a server that does not offer it.
		return all(&Error{Code: 553, Enhanced: "5.6.7", Host: c.Host,
			Message: "the message needs SMTPUTF8 (an internationalised address or header) and " + c.Host + " does not support it"}), nil
	}
	if lim, ok := c.ext["SIZE"]; ok {
		if n, err := strconv.ParseInt(lim, 10, 64); err == nil && n > 0 && int64(len(m.Data)) > n {
			return all(&Error{Code: 552, Enhanced: "5.3.4", Host: c.Host,
				Message: fmt.Sprintf("message of %d bytes exceeds the %d bytes %s accepts", len(m.Data), n, c.Host)}), nil
		}
	}
	mail := "MAIL FROM:<" + m.From + ">"
	if c.Has("SIZE") {
		mail += " SIZE=" + strconv.Itoa(len(m.Data))
	}
	if m.EightBit && c.Has("8BITMIME") {
		mail += " BODY=8BITMIME"
	}
	if m.UTF8 {
		mail += " SMTPUTF8"
	}
	rep, err := c.cmd(mail)
	if err != nil {
		return all(asError(err)), err
	}
	if rep.code != 250 {
		c.reset()
		return all(rep.err(c.Host)), c.brokenErr()
	}
	accepted := 0
	for i, to := range m.To {
		rep, err := c.cmd("RCPT TO:<" + to + ">")
		if err != nil {
			return all(asError(err)), err
		}
		if rep.code != 250 && rep.code != 251 {
			res[i].Err = rep.err(c.Host)
			continue
		}
		accepted++
	}
	if accepted == 0 {
		c.reset()
		return res, c.brokenErr()
	}
	rep, err = c.cmd("DATA")
	if err != nil {
		return all(asError(err)), err
	}
	if rep.code != 354 {
		c.reset()
		return all(rep.err(c.Host)), c.brokenErr()
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.dataTimeout))
	dw := c.tp.DotWriter()
	if _, err := dw.Write(m.Data); err != nil {
		c.broken = true
		return all(asError(netError(c.Host, err))), err
	}
	if err := dw.Close(); err != nil {
		c.broken = true
		return all(asError(netError(c.Host, err))), err
	}
	// RFC 5321 §4.5.3.2.6: 10 minutes for the reply to the final dot.
	rep, err = c.read(c.dataTimeout)
	if err != nil {
		return all(asError(err)), err
	}
	if rep.code != 250 {
		return all(rep.err(c.Host)), nil
	}
	return res, nil
}

// reset ends a failed transaction; a failing RSET marks the connection
// broken.
func (c *Conn) reset() {
	if rep, err := c.cmd("RSET"); err != nil || rep.code != 250 {
		c.broken = true
	}
}

func (c *Conn) brokenErr() error {
	if c.broken {
		return errBroken(c.Host)
	}
	return nil
}

// Usable reports whether another message may be sent on the connection.
func (c *Conn) Usable() bool { return !c.broken }

// Close says QUIT (briefly) and closes the connection.
func (c *Conn) Close() error {
	if !c.broken {
		_ = c.nc.SetDeadline(time.Now().Add(5 * time.Second))
		_ = c.tp.PrintfLine("QUIT")
		_, _ = readReply(c.r)
	}
	return c.nc.Close()
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Enhanced: "4.4.2", Message: err.Error(), Temporary: true}
}

func netError(host string, err error) *Error {
	if errors.Is(err, io.EOF) {
		return &Error{Enhanced: "4.4.2", Message: "connection closed by " + host, Host: host, Temporary: true}
	}
	return &Error{Enhanced: "4.4.2", Message: err.Error(), Host: host, Temporary: true}
}

func errBroken(host string) *Error {
	return &Error{Enhanced: "4.4.2", Message: "connection to " + host + " lost", Host: host, Temporary: true}
}
