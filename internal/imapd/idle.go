package imapd

import (
	"bytes"
	"errors"
	"net"
	"os"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// cmdIdle serves IDLE (RFC 2177, RFC 9051 §6.3.13): changes to the
// selected mailbox are sent as they are committed, until the client sends
// DONE. The authenticated time-out applies; clients re-arm IDLE before it.
//
// An idle connection is the common case (clients hold one per account
// for hours), so it costs one goroutine: the session's own, blocked
// reading the connection. The change feed (feed.go) wakes it by setting
// the read deadline to now, as Shutdown and end do. Under COMPRESS the
// input comes through the decoder's goroutine, which a deadline would
// end, so there IDLE reads on a goroutine of its own and waits on the
// feed's channel (idleCompressed).
func (s *session) cmdIdle(c *imapwire.Command) error {
	s.writeString("+ idling\r\n")
	if err := s.flush(); err != nil {
		return nil
	}
	if s.sel != nil {
		s.sel.dropMetas() // an idle session holds little
	}
	if s.zr != nil {
		return s.idleCompressed()
	}
	deadline := time.Now().Add(s.srv.o.Config.IdleTimeout.Duration)
	for {
		if s.sel != nil && !s.sync(syncFull) {
			return nil
		}
		if err := s.flush(); err != nil {
			return nil
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			s.bye(s.closeReason())
			return nil
		}
		if s.woken {
			// An event came while we reported the last ones.
			s.woken = false
			s.mu.Unlock()
			continue
		}
		s.waiting, s.idling = true, true
		_ = s.conn.SetReadDeadline(deadline)
		s.mu.Unlock()
		err := s.waitInput()
		s.mu.Lock()
		s.waiting, s.idling = false, false
		closing, woken := s.closing, s.woken
		s.woken = false
		if err == nil && !closing {
			// DONE has started: give the line the whole time-out to arrive.
			_ = s.conn.SetReadDeadline(time.Now().Add(s.srv.o.Config.IdleTimeout.Duration))
		}
		s.mu.Unlock()
		switch {
		case closing:
			s.bye(s.closeReason())
			return nil
		case err == nil:
			line, err := s.rd.ReadLine()
			if err != nil {
				s.readFailed(err)
				s.state = stateLogout
				return nil
			}
			return idleDone(line)
		case isTimeout(err) && woken && time.Now().Before(deadline):
			continue // report the feed's events
		case isTimeout(err):
			s.bye("autologout; idle for too long")
			return nil
		default:
			s.readFailed(err)
			s.state = stateLogout
			return nil
		}
	}
}

// idleDone answers the line that ends IDLE.
func idleDone(line []byte) error {
	if !bytes.EqualFold(bytes.TrimSpace(line), []byte("DONE")) {
		return bad("expected DONE")
	}
	return okCode("", "IDLE terminated")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// idleCompressed is IDLE under COMPRESS: a goroutine reads the DONE line
// while this one waits for the feed, the time-out and the end of the
// session.
func (s *session) idleCompressed() error {
	timeout := s.srv.o.Config.IdleTimeout.Duration
	_ = s.conn.SetReadDeadline(time.Now().Add(timeout))
	type lineResult struct {
		line []byte
		err  error
	}
	// The reader goroutine ends with the connection when IDLE ends the
	// session; done is buffered so that it never blocks.
	done := make(chan lineResult, 1)
	go func() {
		line, err := s.rd.ReadLine()
		done <- lineResult{line, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		var events <-chan store.Event
		if s.sel != nil {
			if !s.sync(syncFull) {
				return nil
			}
			events = s.sel.events
		}
		if err := s.flush(); err != nil {
			return nil
		}
		select {
		case ev, ok := <-events:
			if !ok {
				s.sel.events = nil
				continue
			}
			if ev.Kind == store.EventMailboxes || (ev.Mailbox == s.sel.mb.ID && ev.ModSeq > s.sel.modseq) {
				s.sel.dirty = true
			}
		case r := <-done:
			if r.err != nil {
				s.readFailed(r.err)
				s.state = stateLogout
				return nil
			}
			return idleDone(r.line)
		case <-timer.C:
			s.bye("autologout; idle for too long")
			return nil
		case <-s.srv.done:
			s.bye("server shutting down")
			return nil
		case <-s.ended:
			s.bye(s.closeReason())
			return nil
		}
	}
}
