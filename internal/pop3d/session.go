package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"mailhouse/internal/netx"
	"mailhouse/internal/store"
)

// state is an RFC 1939 §3 session state. UPDATE is not a state a
// command can run in: QUIT enters it, commits and ends the session.
type state int

const (
	stateAuthorization state = iota + 1
	stateTransaction
)

// session is one client connection.
type session struct {
	srv *Server
	// raw is the accepted connection: deadlines and Shutdown's interrupt
	// act on it whether or not TLS runs over it.
	raw  net.Conn
	conn net.Conn // raw, or the TLS connection over it
	r    *bufio.Reader
	w    *bufio.Writer
	line []byte // readLine's buffer

	implicitTLS bool
	tls         bool
	remote      netip.Addr
	log         *slog.Logger
	ctx         context.Context
	cancel      context.CancelFunc

	state     state
	user      string // from USER, waiting for PASS
	authFails int
	errors    int

	acct   store.Account
	drop   *maildrop
	unlock func()
	// ended is set when the account was disabled (auth's registry,
	// untrack removes the session from it): the session ends at its next
	// command without entering UPDATE.
	ended   atomic.Bool
	untrack func()

	// For the closing log line.
	retrieved      int
	retrievedBytes int64
	expunged       int
}

var errLineTooLong = errors.New("line too long")

func newSession(srv *Server, c net.Conn, implicitTLS bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	remote := netx.RemoteAddr(c)
	proto := "pop3"
	if implicitTLS {
		proto = "pop3s"
	}
	s := &session{
		srv: srv, raw: c, conn: c, implicitTLS: implicitTLS,
		remote: remote, ctx: ctx, cancel: cancel, state: stateAuthorization,
		log: srv.log.With("conn", netx.NewConnID(), "proto", proto, "remote", remote.String()),
	}
	s.setConn(c)
	return s
}

func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.r = bufio.NewReaderSize(c, 4096)
	s.w = bufio.NewWriterSize(c, 32<<10)
}

// interrupt makes a session blocked reading a command wake up and see
// that the server is closing. A command under way is not disturbed.
func (s *session) interrupt() { _ = s.raw.SetReadDeadline(time.Now()) }

// end ends the session because its account was disabled: a command
// under way finishes, then the session closes. It does not block.
func (s *session) end() {
	s.ended.Store(true)
	_ = s.raw.SetReadDeadline(time.Now())
}

// kill ends the session at once (Shutdown's context expired).
func (s *session) kill() {
	s.cancel()
	_ = s.raw.Close()
}

func (s *session) serve() {
	start := time.Now()
	defer func() {
		if s.untrack != nil {
			s.untrack()
		}
		s.releaseLock()
		s.cancel()
		_ = s.conn.Close()
		_ = s.raw.Close()
		attrs := []any{"duration", time.Since(start).Round(time.Millisecond), "tls", s.tls}
		if s.drop != nil {
			attrs = append(attrs, "retrieved", s.retrieved, "retrieved_bytes", s.retrievedBytes, "expunged", s.expunged)
		}
		s.log.Info("pop3 session closed", attrs...)
	}()
	s.log.Debug("pop3 session opened")
	if s.implicitTLS {
		if err := s.handshake(); err != nil {
			s.log.Info("pop3s: TLS handshake failed", "err", err)
			return
		}
	}
	// RFC 1939 §4: the greeting. No APOP timestamp: APOP is not offered.
	if err := s.writeLine("+OK " + s.srv.o.Hostname + " POP3 server ready"); err != nil {
		return
	}
	for {
		line, err := s.readLine(maxCredentialLine)
		switch {
		case err == nil:
		case errors.Is(err, errLineTooLong):
			if err := s.replyError(protoErr("", "line too long")); err != nil {
				return
			}
			continue
		case s.ended.Load():
			// Marked deletions are not committed (no UPDATE state).
			_ = s.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_ = s.writeLine("-ERR [AUTH] account disabled")
			_ = s.w.Flush()
			s.log.Info("pop3: session ended: account disabled", "state", s.state)
			return
		case s.srv.closing.Load():
			s.goodbye()
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			// RFC 1939 §3: when the autologout timer expires the session
			// does not enter UPDATE; close without a response.
			s.log.Info("pop3: idle time-out", "state", s.state)
			return
		case errors.Is(err, io.EOF):
			s.log.Debug("pop3: client closed the connection")
			return
		default:
			s.log.Info("pop3: read", "err", err)
			return
		}
		if err := s.handle(line); err != nil {
			if !errors.Is(err, errQuit) {
				s.log.Debug("pop3: closing", "err", err)
			}
			return
		}
	}
}

// releaseLock frees the maildrop lock, once.
func (s *session) releaseLock() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// goodbye tells a client waiting for a command that the server is going
// down (RFC 2449 §8 SYS/TEMP). Marked deletions are not committed.
func (s *session) goodbye() {
	_ = s.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = s.writeLine("-ERR [SYS/TEMP] server shutting down, try again later")
	_ = s.w.Flush()
	s.log.Info("pop3: session ended by shutdown", "state", s.state)
}

// handle runs one command line; a non-nil error ends the session.
func (s *session) handle(line []byte) error {
	_ = s.raw.SetWriteDeadline(time.Now().Add(s.srv.o.Config.IdleTimeout.Duration))
	cmd, err := parseCommand(line)
	if err == nil {
		if cmd.verb != "PASS" && cmd.verb != "AUTH" {
			s.log.Debug("pop3 command", "line", string(line))
		} else {
			s.log.Debug("pop3 command", "verb", cmd.verb)
		}
		err = s.dispatch(cmd)
	}
	if err == nil {
		return nil
	}
	var re *replyError
	if errors.As(err, &re) {
		return s.replyError(re)
	}
	return err
}

// replyError sends a negative reply, logs it and counts it; when a
// limit is crossed it says so and ends the session.
func (s *session) replyError(re *replyError) error {
	switch re.kind {
	case kindProtocol:
		s.errors++
		if s.errors >= s.srv.o.MaxErrors {
			re.text += " (too many errors, closing connection)"
			re.close = true
		}
	case kindAuth:
		s.authFails++
		if s.authFails >= s.srv.o.Config.MaxAuthFail {
			re.text += " (too many failures, closing connection)"
			re.close = true
		}
	}
	switch {
	case re.cause != nil && re.kind == kindOther:
		s.log.Warn("pop3: "+re.text, "err", re.cause)
	case re.kind == kindAuth:
		s.log.Info("pop3: login failed", "err", re.cause, "failures", s.authFails)
	default:
		s.log.Debug("pop3: "+re.line(), "err", re.cause)
	}
	if err := s.writeLine(re.line()); err != nil {
		return err
	}
	if re.close {
		_ = s.w.Flush()
		return errors.New(re.text)
	}
	return nil
}

// dispatch checks the state and runs a command (RFC 1939 §4, §5).
func (s *session) dispatch(cmd command) error {
	if s.state == stateAuthorization {
		switch cmd.verb {
		case "CAPA":
			return s.cmdCapa(cmd)
		case "STLS":
			return s.cmdStls(cmd)
		case "USER":
			return s.cmdUser(cmd)
		case "PASS":
			return s.cmdPass(cmd)
		case "AUTH":
			return s.cmdAuth(cmd)
		case "QUIT":
			return s.cmdQuit(cmd)
		case "APOP":
			return protoErr("", "APOP is not supported; use USER/PASS or AUTH PLAIN")
		case "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL":
			return protoErr("", "%s is not valid before login", cmd.verb)
		}
		return protoErr("", "unknown command")
	}
	switch cmd.verb {
	case "CAPA":
		return s.cmdCapa(cmd)
	case "STAT":
		return s.cmdStat(cmd)
	case "LIST":
		return s.cmdList(cmd)
	case "UIDL":
		return s.cmdUidl(cmd)
	case "RETR":
		return s.cmdRetr(cmd)
	case "TOP":
		return s.cmdTop(cmd)
	case "DELE":
		return s.cmdDele(cmd)
	case "NOOP":
		if err := noArgs(cmd); err != nil {
			return err
		}
		return s.writeLine("+OK")
	case "RSET":
		return s.cmdRset(cmd)
	case "QUIT":
		return s.cmdQuit(cmd)
	case "USER", "PASS", "AUTH", "APOP", "STLS":
		return protoErr("", "%s is not valid after login", cmd.verb)
	}
	return protoErr("", "unknown command")
}

func noArgs(cmd command) error {
	if len(cmd.args) > 0 {
		return protoErr("", "%s takes no arguments", cmd.verb)
	}
	return nil
}

// readLine reads one line without its CRLF (a bare LF is accepted too).
// It first flushes pending replies unless a whole command is already
// buffered, so that pipelined commands (RFC 2449 §6.6) get their
// replies in as few writes as possible. A line longer than max is read
// up to maxDiscard and thrown away (errLineTooLong); past that the
// connection is closed. The returned slice is valid until the next call.
func (s *session) readLine(max int) ([]byte, error) {
	if !s.lineBuffered() {
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
	}
	_ = s.raw.SetReadDeadline(time.Now().Add(s.srv.o.Config.IdleTimeout.Duration))
	// Checked after the deadline is set: Shutdown sets closing and then
	// moves the deadline to now, so one of the two is seen.
	if s.srv.closing.Load() || s.ended.Load() {
		return nil, os.ErrDeadlineExceeded
	}
	s.line = s.line[:0]
	n := 0
	for {
		frag, err := s.r.ReadSlice('\n')
		n += len(frag)
		if len(s.line)+len(frag) <= max {
			s.line = append(s.line, frag...)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if n > maxDiscard {
				return nil, errors.New("over-long line without end")
			}
			continue
		}
		return nil, err
	}
	if n > max {
		return nil, errLineTooLong
	}
	line := bytes.TrimSuffix(s.line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// lineBuffered reports whether a whole line waits in the read buffer.
func (s *session) lineBuffered() bool {
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// writeLine buffers one reply line and its CRLF.
func (s *session) writeLine(line string) error {
	if _, err := s.w.WriteString(line); err != nil {
		return err
	}
	_, err := s.w.WriteString("\r\n")
	return err
}
