package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/netx"
	"mailhouse/internal/store"
)

// state is where a session is in RFC 9051 §3's state diagram.
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout

	anyState = stateNotAuth | stateAuth | stateSelected
	authed   = stateAuth | stateSelected
)

// Buffer sizes per connection; small, as most connections sit idle.
const (
	readBufSize  = 2048
	writeBufSize = 4096
)

// session is one client connection.
type session struct {
	srv    *Server
	conn   net.Conn
	id     string
	remote netip.Addr
	log    *slog.Logger
	isTLS  bool

	br *bufio.Reader
	bw *bufio.Writer
	rd *imapwire.Reader
	in connReader // what br reads, but under COMPRESS

	state   state
	account store.Account
	// Enabled extensions (RFC 5161): IMAP4rev2, UTF8=ACCEPT, CONDSTORE
	// (also enabled by any CONDSTORE-enabling command, RFC 7162 §3.1) and
	// QRESYNC.
	rev2, utf8, condstore, qresync bool
	// zw compresses output and zr decompresses input once COMPRESS
	// DEFLATE is active (RFC 4978).
	zw flusher
	zr io.Closer

	sel *selected // the selected mailbox, nil unless stateSelected

	commands, errors, authFails int
	// byeAfter ends the session after the current tagged response.
	byeAfter string

	// mu guards waiting, closing and woken: Shutdown interrupts a session
	// that waits for a command, and the change feed one that waits in
	// IDLE, by setting its read deadline to now.
	mu      sync.Mutex
	waiting bool
	closing bool
	// idling says the wait is IDLE's, which the change feed interrupts
	// too; woken says the feed queued an event since IDLE last looked.
	idling, woken bool
	// reason is said in the BYE when closing was set by end (the account
	// was disabled); "" means the server shuts down.
	reason string
	// ended is closed by end, so that IDLE notices at once.
	ended chan struct{}
	// untrack removes the session from auth's registry (set at login).
	untrack func()
}

func (s *Server) newSession(c net.Conn, implicitTLS bool) *session {
	id := netx.NewConnID()
	sess := &session{
		srv:    s,
		conn:   c,
		id:     id,
		remote: netx.RemoteAddr(c),
		state:  stateNotAuth,
		isTLS:  implicitTLS,
		ended:  make(chan struct{}),
	}
	sess.log = s.log.With("conn", id)
	return sess
}

// interrupt asks the session to end: at once when it waits for a
// command, else after the command in progress.
func (s *session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	if s.waiting {
		_ = s.conn.SetReadDeadline(time.Now())
	}
}

// end asks the session to end because its account may no longer use
// it (disabled by an admin); it says why in the BYE. It does not block.
func (s *session) end(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		return
	}
	s.reason = reason
	s.closing = true
	close(s.ended)
	if s.waiting {
		_ = s.conn.SetReadDeadline(time.Now())
	}
}

// wake tells the session that the change feed queued an event: a
// session waiting in IDLE stops reading to report it. It does not block.
func (s *session) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.woken = true
	if s.waiting && s.idling {
		_ = s.conn.SetReadDeadline(time.Now())
	}
}

// closeReason is the BYE text of a session asked to close.
func (s *session) closeReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason != "" {
		return s.reason
	}
	return "server shutting down"
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *session) setBuffers() {
	s.in = connReader{r: s.conn}
	s.br = bufio.NewReaderSize(&s.in, readBufSize)
	s.bw = bufio.NewWriterSize(s.conn, writeBufSize)
	if s.rd == nil {
		s.rd = imapwire.NewReader(s.br, imapwire.ReaderOptions{
			MaxLine:      s.srv.o.Config.MaxLineLength,
			LiteralLimit: s.literalLimit,
			Continue: func() error {
				s.bw.WriteString("+ Ready for literal data\r\n")
				return s.flush()
			},
		})
	} else {
		s.rd.SetBufio(s.br)
	}
}

// connReader reads the connection, after a byte read ahead while the
// session's buffers were released (waitInput).
type connReader struct {
	r       io.Reader
	ahead   [1]byte
	isAhead bool
}

func (c *connReader) Read(p []byte) (int, error) {
	if c.isAhead && len(p) > 0 {
		p[0] = c.ahead[0]
		c.isAhead = false
		return 1, nil
	}
	return c.r.Read(p)
}

// waitInput blocks until the client sends something (or the read
// deadline set by the caller passes). Most connections spend most of
// their life here, so when nothing is buffered the session lends its
// buffers to the server's pools meanwhile and reads one byte ahead
// into connReader; it takes buffers back before returning. Under
// COMPRESS the buffers sit over the decoder and are kept.
func (s *session) waitInput() error {
	if s.in.isAhead {
		return nil
	}
	if s.zr != nil || s.br.Buffered() > 0 || s.bw.Buffered() > 0 {
		_, err := s.br.Peek(1)
		return err
	}
	s.br.Reset(nil)
	s.bw.Reset(nil)
	s.srv.readers.Put(s.br)
	s.srv.writers.Put(s.bw)
	s.br, s.bw = nil, nil
	n, err := s.in.r.Read(s.in.ahead[:])
	s.in.isAhead = n == 1
	s.br = s.srv.readers.Get().(*bufio.Reader)
	s.br.Reset(&s.in)
	s.bw = s.srv.writers.Get().(*bufio.Writer)
	s.bw.Reset(s.conn)
	s.rd.SetBufio(s.br)
	if n == 1 {
		return nil
	}
	return err
}

// literalLimit is the largest literal a command may carry: APPEND gets
// the APPENDLIMIT (RFC 7889), other commands much less, and nothing may
// be large before login.
func (s *session) literalLimit(first []byte) int64 {
	if s.state == stateNotAuth {
		return maxPreAuthLiteral
	}
	f := strings.Fields(string(first[:min(len(first), 80)]))
	if len(f) >= 2 && strings.EqualFold(f[1], "APPEND") {
		return s.srv.o.Config.MaxLiteralBytes
	}
	return maxCommandLiteral
}

func (s *session) serve() {
	defer s.conn.Close()
	defer func() {
		// A bug in one command must not take the server down.
		if r := recover(); r != nil {
			s.srv.panics.Add(1)
			s.log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	start := time.Now()
	s.log.Info("connection", "remote", s.remote, "tls", s.isTLS)
	defer func() {
		s.cleanup()
		s.log.Info("disconnect", "user", s.account.Address, "commands", s.commands, "duration", time.Since(start).Round(time.Millisecond))
	}()
	if s.isTLS {
		tc := tls.Server(s.conn, s.srv.o.TLS)
		_ = tc.SetDeadline(time.Now().Add(s.srv.o.Config.UnauthTimeout.Duration))
		if err := tc.Handshake(); err != nil {
			s.log.Info("TLS handshake failed", "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
		s.conn = tc
	}
	s.setBuffers()
	s.writeCapabilityLine("* OK [CAPABILITY ", "] "+s.srv.o.Hostname+" mailhouse IMAP ready")
	for s.state != stateLogout {
		if err := s.flush(); err != nil {
			return
		}
		if !s.waitCommand() {
			return
		}
		if s.commands++; s.commands > s.srv.o.Config.MaxCommands {
			s.bye("too many commands in this session")
			return
		}
		raw, err := s.rd.ReadCommand()
		if err != nil {
			var re *imapwire.ReadError
			if !errors.As(err, &re) {
				s.readFailed(err)
				return
			}
			status := "BAD"
			if re.Code == "TOOBIG" && !re.Fatal {
				status = "NO"
			}
			s.tagged(re.Tag, &result{status: status, code: re.Code, text: re.Msg})
			if re.Fatal {
				s.bye("protocol error")
				return
			}
			if !s.countError() {
				return
			}
			continue
		}
		s.execute(raw)
	}
	s.flush()
}

// waitCommand waits for the first byte of the next command under the
// state's time-out. It returns false when the session must end.
func (s *session) waitCommand() bool {
	timeout := s.srv.o.Config.IdleTimeout.Duration
	if s.state == stateNotAuth {
		timeout = s.srv.o.Config.UnauthTimeout.Duration
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.bye(s.closeReason())
		return false
	}
	s.waiting = true
	_ = s.conn.SetReadDeadline(time.Now().Add(timeout))
	s.mu.Unlock()
	err := s.waitInput()
	s.mu.Lock()
	s.waiting = false
	closing := s.closing
	if err == nil && !closing {
		// A command has started: give it the whole time-out to arrive.
		_ = s.conn.SetReadDeadline(time.Now().Add(timeout))
	}
	s.mu.Unlock()
	switch {
	case closing:
		s.bye(s.closeReason())
		return false
	case err != nil:
		s.readFailed(err)
		return false
	}
	return true
}

func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		if s.isClosing() {
			s.bye(s.closeReason())
		} else {
			s.bye("autologout; idle for too long")
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	default:
		s.log.Debug("read failed", "err", err)
	}
}

// countError counts a BAD; too many end the session.
func (s *session) countError() bool {
	if s.errors++; s.errors >= s.srv.o.Config.MaxErrors {
		s.bye("too many errors")
		return false
	}
	return true
}

func (s *session) bye(msg string) {
	s.bw.WriteString("* BYE " + msg + "\r\n")
	s.flush()
	s.state = stateLogout
}

func (s *session) flush() error {
	if s.bw.Buffered() == 0 {
		return nil
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := s.bw.Flush()
	if err == nil && s.zw != nil {
		err = s.zw.Flush()
	}
	if err != nil {
		s.log.Debug("write failed", "err", err)
		s.state = stateLogout
	}
	return err
}

// cleanup releases what the session holds.
func (s *session) cleanup() {
	if s.untrack != nil {
		s.untrack()
	}
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	if s.zr != nil {
		s.zr.Close() // ends the decoding goroutine
		s.srv.releaseCompress()
	}
}

// ctx is the context for store calls of one command.
func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// write helpers. Output goes to the buffered writer and is flushed before
// the next read.

func (s *session) writeString(str string) { s.bw.WriteString(str) }

func (s *session) writef(format string, args ...any) { fmt.Fprintf(s.bw, format, args...) }

func (s *session) writeBytes(b []byte) { s.bw.Write(b) }

// result is a command's outcome: a tagged OK, NO or BAD with an optional
// response code (RFC 9051 §7.1, RFC 5530).
type result struct {
	status string
	code   string
	text   string
}

func (r *result) Error() string { return r.status + " " + r.text }

func bad(format string, args ...any) error {
	return &result{status: "BAD", text: fmt.Sprintf(format, args...)}
}

func no(code, format string, args ...any) error {
	return &result{status: "NO", code: code, text: fmt.Sprintf(format, args...)}
}

func okCode(code, text string) error {
	return &result{status: "OK", code: code, text: text}
}

func (s *session) tagged(tag string, r *result) {
	s.bw.WriteString(tag)
	s.bw.WriteByte(' ')
	s.bw.WriteString(r.status)
	s.bw.WriteByte(' ')
	if r.code != "" {
		s.bw.WriteString("[" + r.code + "] ")
	}
	s.bw.WriteString(r.text)
	s.bw.WriteString("\r\n")
}

// storeError maps a store error to a tagged NO; unexpected ones are
// logged and reported without detail (the details stay in the log).
func (s *session) storeError(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return no("NONEXISTENT", "%s: no such mailbox or message", what)
	case errors.Is(err, store.ErrExists):
		return no("ALREADYEXISTS", "%s: already exists", what)
	case errors.Is(err, store.ErrNotAllowed):
		return no("CANNOT", "%s: not allowed", what)
	case errors.Is(err, store.ErrNotEmpty):
		return no("HASCHILDREN", "%s: mailbox has children", what)
	case errors.Is(err, store.ErrOverQuota):
		return no("OVERQUOTA", "%s: mailbox is full", what) // RFC 9208 §4.3.1
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("store timeout", "op", what, "err", err)
		return no("UNAVAILABLE", "%s: timed out; try again", what)
	}
	s.log.Error("store error", "op", what, "err", err)
	return no("SERVERBUG", "%s: internal error", what)
}
