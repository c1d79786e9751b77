package pop3d

import (
	"errors"
	"strconv"

	"mailhouse/internal/store"
)

// msgArg resolves a message-number argument (RFC 1939 §5): a number in
// the snapshot, not marked deleted.
func (s *session) msgArg(arg string) (int, error) {
	n, ok := parseNumber(arg)
	if !ok {
		return 0, protoErr("", "invalid message number %q", arg)
	}
	if n < 1 || n > len(s.drop.msgs) {
		return 0, protoErr("", "no such message, only %d messages in maildrop", len(s.drop.msgs))
	}
	if s.drop.msgs[n-1].deleted {
		return 0, protoErr("", "message %d already deleted", n)
	}
	return n - 1, nil
}

// cmdStat: "+OK count octets" of the messages not marked deleted
// (RFC 1939 §5).
func (s *session) cmdStat(cmd command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	count, total := 0, int64(0)
	for i := range s.drop.msgs {
		if s.drop.msgs[i].deleted {
			continue
		}
		n, err := s.srv.messageSize(s.ctx, s.drop, i)
		if err != nil {
			return tempFailure(err)
		}
		count++
		total += n
	}
	return s.writeLine("+OK " + strconv.Itoa(count) + " " + strconv.FormatInt(total, 10))
}

// cmdList gives message sizes (RFC 1939 §5).
func (s *session) cmdList(cmd command) error {
	return s.scanListing(cmd, func(i int) (string, error) {
		n, err := s.srv.messageSize(s.ctx, s.drop, i)
		return strconv.FormatInt(n, 10), err
	})
}

// cmdUidl gives unique-ids (RFC 1939 §7).
func (s *session) cmdUidl(cmd command) error {
	return s.scanListing(cmd, func(i int) (string, error) {
		return s.drop.uidl(i), nil
	})
}

// scanListing is LIST's and UIDL's shape: with a message number one
// "+OK n value" line; without, a multi-line listing of the messages not
// marked deleted.
func (s *session) scanListing(cmd command, value func(i int) (string, error)) error {
	if len(cmd.args) > 1 {
		return protoErr("", "usage: %s [message]", cmd.verb)
	}
	if len(cmd.args) == 1 {
		i, err := s.msgArg(cmd.args[0])
		if err != nil {
			return err
		}
		v, err := value(i)
		if err != nil {
			return tempFailure(err)
		}
		return s.writeLine("+OK " + strconv.Itoa(i+1) + " " + v)
	}
	// Sizes are worked out before "+OK", so that a store failure can
	// still be a single -ERR line.
	vals := make([]string, len(s.drop.msgs))
	for i := range s.drop.msgs {
		if s.drop.msgs[i].deleted {
			continue
		}
		v, err := value(i)
		if err != nil {
			return tempFailure(err)
		}
		vals[i] = v
	}
	if err := s.writeLine("+OK"); err != nil {
		return err
	}
	for i, v := range vals {
		if s.drop.msgs[i].deleted {
			continue
		}
		if err := s.writeLine(strconv.Itoa(i+1) + " " + v); err != nil {
			return err
		}
	}
	return s.writeLine(".")
}

// readArg reads the message named by a command's first argument.
func (s *session) readArg(arg string) (int, []byte, error) {
	i, err := s.msgArg(arg)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.srv.readMessage(s.ctx, s.drop, i)
	if errors.Is(err, errVanished) {
		return 0, nil, &replyError{kind: kindOther, text: "message " + arg + " was removed by another client", cause: err}
	}
	if err != nil {
		return 0, nil, tempFailure(err)
	}
	return i, data, nil
}

// cmdRetr sends a message (RFC 1939 §5). It does not set \Seen.
func (s *session) cmdRetr(cmd command) error {
	if len(cmd.args) != 1 {
		return protoErr("", "usage: RETR message")
	}
	i, data, err := s.readArg(cmd.args[0])
	if err != nil {
		return err
	}
	size := s.drop.msgs[i].size
	if err := s.writeLine("+OK " + strconv.FormatInt(size, 10) + " octets"); err != nil {
		return err
	}
	s.retrieved++
	s.retrievedBytes += size
	return writeMessage(s.w, data)
}

// cmdTop sends a message's header and first lines (RFC 1939 §7).
func (s *session) cmdTop(cmd command) error {
	if len(cmd.args) != 2 {
		return protoErr("", "usage: TOP message lines")
	}
	lines, ok := parseNumber(cmd.args[1])
	if !ok {
		return protoErr("", "invalid line count %q", cmd.args[1])
	}
	_, data, err := s.readArg(cmd.args[0])
	if err != nil {
		return err
	}
	if err := s.writeLine("+OK top of message follows"); err != nil {
		return err
	}
	return writeTop(s.w, data, lines)
}

// cmdDele marks a message; only QUIT removes it (RFC 1939 §5).
func (s *session) cmdDele(cmd command) error {
	if len(cmd.args) != 1 {
		return protoErr("", "usage: DELE message")
	}
	i, err := s.msgArg(cmd.args[0])
	if err != nil {
		return err
	}
	s.drop.msgs[i].deleted = true
	return s.writeLine("+OK message " + strconv.Itoa(i+1) + " deleted")
}

// cmdRset unmarks every message (RFC 1939 §5).
func (s *session) cmdRset(cmd command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	for i := range s.drop.msgs {
		s.drop.msgs[i].deleted = false
	}
	return s.writeLine("+OK maildrop has " + strconv.Itoa(len(s.drop.msgs)) + " messages")
}

// cmdQuit ends the session. In TRANSACTION it enters UPDATE (RFC 1939
// §6): the marked messages are expunged from the INBOX in one store
// call, which IMAP sessions see as EXPUNGE.
func (s *session) cmdQuit(cmd command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	if s.state != stateTransaction {
		_ = s.writeLine("+OK " + s.srv.o.Hostname + " POP3 server signing off")
		_ = s.w.Flush()
		return errQuit
	}
	var uids []store.UID
	for _, m := range s.drop.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	if len(uids) > 0 {
		gone, err := s.srv.o.Store.Expunge(s.ctx, s.drop.mailbox.ID, uids)
		if err != nil {
			s.log.Error("pop3: expunge at QUIT failed", "err", err, "marked", len(uids))
			// RFC 1939 §6: the UPDATE step failed; nothing was removed.
			_ = s.writeLine("-ERR [SYS/TEMP] some deleted messages not removed")
			_ = s.w.Flush()
			return errQuit
		}
		s.expunged = len(gone)
		s.log.Info("pop3: messages deleted", "marked", len(uids), "expunged", len(gone))
	}
	// Unlocked before the reply, so that a client reconnecting as soon
	// as it reads "+OK" finds the maildrop free.
	s.releaseLock()
	left := len(s.drop.msgs) - len(uids)
	_ = s.writeLine("+OK " + s.srv.o.Hostname + " POP3 server signing off (" + strconv.Itoa(left) + " messages left)")
	_ = s.w.Flush()
	return errQuit
}
