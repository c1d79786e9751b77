package smtpd

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"mailhouse/internal/netx"
)

// listener hands go-smtp connections wrapped in *conn, so that the server
// can track them (shutdown, logs) and close one right after a reply. On
// port 465 it starts TLS itself, like tls.NewListener; go-smtp does the
// handshake under its time-outs.
type listener struct {
	net.Listener
	srv  *Server
	mode mode
}

func (l *listener) Accept() (net.Conn, error) {
	raw, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{
		Conn:   raw,
		srv:    l.srv,
		id:     netx.NewConnID(),
		remote: netx.RemoteAddr(raw),
		mode:   l.mode,
		opened: time.Now(),
	}
	c.log = l.srv.log.With("conn", c.id, "listener", l.mode.String(), "remote", c.remote.String())
	c.proto = c
	var out net.Conn = c
	if l.mode == modeSubmissions {
		t := tls.Server(c, l.srv.o.TLS)
		c.proto, out = t, t
	}
	l.srv.track(c)
	c.log.Debug("connection opened")
	return out, nil
}

// conn is the raw connection of one client (below TLS, if any).
type conn struct {
	net.Conn
	srv    *Server
	id     string
	remote netip.Addr
	mode   mode
	log    *slog.Logger
	opened time.Time

	mu sync.Mutex
	// proto is where protocol replies are written: the raw conn, or the
	// TLS conn on top of it; nil while unknown (after STARTTLS until the
	// next EHLO gives the session the new one).
	proto  net.Conn
	writes int // plaintext replies written, to notice STARTTLS
	// busy: receiving a message; shutdown waits for its reply.
	busy         bool
	replyPending bool // the message is handled; its reply is next
	closeAfter   bool // close once the next reply is written
	leaving      bool // shutdown goodbye started
	// timedOut: a command line did not arrive within command_timeout.
	// The read deadline then stays in the past (see SetReadDeadline).
	timedOut  bool
	closed    bool
	closeOnce sync.Once
}

// NetConn returns the wrapped connection.
func (c *conn) NetConn() net.Conn { return c.Conn }

// Write passes a reply on, then applies what the session asked for after
// it: leave the busy state, or close the connection.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if c.proto == net.Conn(c) {
		// In a plaintext session the only 220 after the greeting is the
		// reply to STARTTLS (RFC 3207 §4): from now on replies are
		// encrypted by a TLS conn we learn of at the next EHLO.
		if c.writes > 0 && bytes.HasPrefix(p, []byte("220 ")) {
			c.proto = nil
		}
		c.writes++
	}
	closeNow := c.closeAfter
	if c.replyPending {
		c.replyPending, c.busy = false, false
		closeNow = closeNow || c.srv.shutting.Load()
	}
	c.mu.Unlock()
	if closeNow {
		_ = c.Close()
	}
	return n, err
}

// Read notes a time-out while waiting for a command line.
//
// go-smtp reads commands with bufio.Reader.ReadLine, which returns the
// part of a line read before a time-out as if it were a whole line; and
// it moves the deadline forward before every line. A client sending a
// byte now and then (a slow-loris) would so hold the session for ever,
// its fragments taken for commands. After a time-out outside a message
// the deadline is kept in the past, so that the next read ends the
// session with go-smtp's 421 4.4.2 (RFC 5321 §4.5.3.2). A message has
// its own time-out (data.go).
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		if !c.busy {
			c.timedOut = true
		}
		c.mu.Unlock()
	}
	return n, err
}

// SetReadDeadline sets the read deadline unless a command time-out has
// passed (see Read).
func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	timedOut := c.timedOut
	c.mu.Unlock()
	if timedOut {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline is SetReadDeadline and SetWriteDeadline.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// Close closes the connection once and forgets it.
func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.srv.untrack(c)
		c.log.Debug("connection closed", "duration", time.Since(c.opened).Round(time.Millisecond))
	})
	return err
}

// isClosed reports whether the connection is closed or about to be
// (after a final reply); the session then refuses further commands that
// are still buffered.
func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.closeAfter
}

// setProto records the conn replies go to (called at EHLO).
func (c *conn) setProto(p net.Conn) {
	c.mu.Lock()
	c.proto = p
	c.mu.Unlock()
}

// closeAfterReply makes the next reply the last one.
func (c *conn) closeAfterReply() {
	c.mu.Lock()
	c.closeAfter = true
	c.mu.Unlock()
}

// beginData marks the connection busy receiving a message.
func (c *conn) beginData() {
	c.mu.Lock()
	c.busy = true
	c.mu.Unlock()
}

// endData says the message is handled: the connection stops being busy
// once its reply is written (so that shutdown never cuts a reply off).
func (c *conn) endData() {
	c.mu.Lock()
	c.replyPending = true
	c.mu.Unlock()
}

// startGoodbye reports whether shutdown may close the connection now
// (it is not receiving a message), and marks it so.
func (c *conn) startGoodbye() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy || c.leaving || c.closed {
		return false
	}
	c.leaving = true
	return true
}

// goodbye writes the shutdown reply (RFC 5321 §3.8) and closes. The
// deadline on the raw conn bounds it, even if a TLS handshake is in
// progress.
func (c *conn) goodbye(hostname string) {
	_ = c.Conn.SetDeadline(time.Now().Add(goodbyeTimeout))
	c.mu.Lock()
	p := c.proto
	c.mu.Unlock()
	if p != nil {
		_, _ = p.Write([]byte("421 4.3.2 " + sanitizeText(hostname) + " Service shutting down\r\n"))
	}
	_ = c.Close()
	c.log.Info("connection closed for shutdown")
}

// kick ends the session of a disabled account: at once with a 421 when
// it waits for a command, else right after the reply to the message
// being received.
func (c *conn) kick(why string) {
	c.mu.Lock()
	if c.closed || c.leaving {
		c.mu.Unlock()
		return
	}
	if c.busy {
		c.closeAfter = true
		c.mu.Unlock()
		return
	}
	c.leaving = true
	p := c.proto
	c.mu.Unlock()
	_ = c.Conn.SetDeadline(time.Now().Add(goodbyeTimeout))
	if p != nil {
		// RFC 5321 §3.8: 421 closes the transmission channel.
		_, _ = p.Write([]byte("421 4.7.0 " + sanitizeText(why) + "\r\n"))
	}
	_ = c.Close()
	c.log.Info("connection closed", "reason", why)
}

// connOf finds our conn below a go-smtp connection (TLS or not).
func connOf(nc net.Conn) *conn {
	for nc != nil {
		switch t := nc.(type) {
		case *conn:
			return t
		case interface{ NetConn() net.Conn }:
			nc = t.NetConn()
		default:
			return nil
		}
	}
	return nil
}
