package imapd

import (
	"bytes"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// cmdIdle serves IDLE (RFC 2177, RFC 9051 §6.3.13): changes to the
// selected mailbox are sent as they are committed, until the client sends
// DONE. The authenticated time-out applies; clients re-arm IDLE before it.
func (s *session) cmdIdle(c *imapwire.Command) error {
	s.writeString("+ idling\r\n")
	if err := s.flush(); err != nil {
		return nil
	}
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
			if !bytes.EqualFold(bytes.TrimSpace(r.line), []byte("DONE")) {
				return bad("expected DONE")
			}
			return okCode("", "IDLE terminated")
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
