package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/delivery"
	"mailhouse/internal/mailauth"
)

// Data receives the message (DATA or BDAT), checks it, adds the
// Received: header and delivers it. It returns only when every local
// copy is committed and fsynced (then go-smtp replies 250) or with the
// reply that says why not; on any error nothing is stored.
func (s *session) Data(r io.Reader) error {
	if s.c.isClosed() {
		return errConnectionGone
	}
	tx := s.currentTx()
	if tx == nil || len(tx.rcpts) == 0 {
		return errTempLocal // go-smtp checks RCPT first: cannot happen
	}
	cfg := s.srv.o.Config
	s.c.beginData()
	defer s.c.endData()
	// The whole message must arrive within DataTimeout (RFC 5321
	// §4.5.3.2.5-6 suggest 3 minutes per block and 10 for the end).
	_ = s.nc.SetReadDeadline(time.Now().Add(cfg.DataTimeout.Duration))

	ri := receivedInfo{
		helo: tx.helo, remote: s.c.remote, hostname: s.srv.o.Hostname,
		tls: s.tls, auth: s.account != nil, utf8: tx.utf8,
		id: tx.id, date: s.srv.o.Now(),
	}
	if len(tx.rcpts) == 1 {
		ri.rcpt = tx.rcpts[0]
	}
	hdr := receivedHeader(ri)
	hint := tx.sizeHint
	if hint <= 0 || hint > cfg.MaxMessageBytes {
		hint = 32 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(hdr)+int(hint)+bytes.MinRead))
	buf.Write(hdr)
	_, err := buf.ReadFrom(&bodyReader{r: r, max: cfg.MaxMessageBytes})
	size := buf.Len() - len(hdr)
	if err != nil {
		return s.dataFailed(tx, err, size)
	}
	body := buf.Bytes()[len(hdr):]

	if s.mode != modeMX {
		if e := s.checkSenderHeaders(tx, body); e != nil {
			s.logTx(tx, fmt.Sprintf("%d %s", e.Code, e.Message), size)
			return s.fail(e)
		}
	}

	ctx, cancel := context.WithTimeout(s.srv.ctx, cfg.DataTimeout.Duration)
	defer cancel()
	data, junk := buf.Bytes(), false
	if s.mode == modeMX && s.srv.o.Verifier != nil {
		// SPF, DKIM and DMARC of mail from the internet (RFC 7489 §6.6):
		// a p=reject failure is refused here, p=quarantine goes to Junk,
		// and the verdict is recorded in Authentication-Results.
		r := s.srv.o.Verifier.Check(ctx, mailauth.Input{IP: s.c.remote, HELO: tx.helo, MailFrom: tx.from, Data: body})
		if r.Action == mailauth.Reject {
			e := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected by the DMARC policy of " + r.FromDomain}
			s.logTx(tx, fmt.Sprintf("550 DMARC reject (%s)", r.Reason), size)
			return e
		}
		data = append(append(make([]byte, 0, len(hdr)+len(r.Header)+len(body)), hdr...), r.Apply(body)...)
		junk = r.Action == mailauth.Quarantine
	}
	res, err := s.srv.o.Deliverer.Deliver(ctx, delivery.Envelope{
		From:       tx.from,
		Recipients: tx.resolved,
		External:   tx.external,
		Data:       data,
		Junk:       junk,
		Admitted:   tx.admitted,
	})
	if err != nil {
		e := deliverError(err)
		s.log.Error("delivery failed", "tx", tx.id, "err", err)
		s.logTx(tx, fmt.Sprintf("%d %s", e.Code, e.Message), size)
		return e
	}
	if s.account != nil {
		s.srv.rate.record(s.account.Address, len(tx.rcpts))
	}
	s.logTx(tx, fmt.Sprintf("250 delivered to %d mailboxes, queued for %d", len(res.Local), len(res.Queued)), size)
	return nil
}

// dataFailed turns a read error of the message into its reply.
func (s *session) dataFailed(tx *transaction, err error, size int) error {
	var reply *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge), errors.Is(err, errTooBig):
		reply = s.failReply(errTooBig)
	case errors.Is(err, errBareLF), errors.Is(err, errNUL):
		reply = s.failReply(err.(*smtp.SMTPError))
	case errors.Is(err, errBareCR):
		// go-smtp's end-of-data detection loses track after CR CR LF, so
		// waiting for the end could hang until the time-out: answer now
		// and close (as Postfix does for bare newlines).
		s.c.closeAfterReply()
		_ = s.nc.SetReadDeadline(time.Now())
		reply = errBareCR
	case errors.Is(err, smtp.ErrTooLongLine):
		s.c.closeAfterReply()
		reply = errLineTooLong
	case errors.As(err, &ne) && ne.Timeout():
		s.c.closeAfterReply()
		reply = errDataTimeout
	default: // the client went away or reset the BDAT transfer
		reply = errConnectionGone
	}
	s.log.Info("message refused", "tx", tx.id, "reply", reply.Code, "err", err)
	s.logTx(tx, fmt.Sprintf("%d %s", reply.Code, reply.Message), size)
	return reply
}

// failReply is fail for callers that need the reply value.
func (s *session) failReply(e *smtp.SMTPError) *smtp.SMTPError {
	return s.fail(e).(*smtp.SMTPError)
}

// checkSenderHeaders refuses a submitted message whose From: or Sender:
// names an address that is not the user's.
func (s *session) checkSenderHeaders(tx *transaction, body []byte) *smtp.SMTPError {
	ctx, cancel := s.cmdContext()
	defer cancel()
	addrs, err := senderAddresses(body)
	if err != nil {
		s.log.Warn("sender header refused: unreadable", "tx", tx.id, "err", err)
		return errBadFrom
	}
	for _, a := range addrs {
		ok, err := s.srv.o.Resolver.Owns(ctx, *s.account, a)
		if err != nil {
			s.log.Error("sender check failed", "tx", tx.id, "err", err)
			return errTempLocal
		}
		if !ok {
			s.log.Warn("sender header refused: not the user's address", "tx", tx.id, "user", s.account.Address, "header_from", sanitizeText(a))
			return errNotYourFrom
		}
	}
	return nil
}

// bodyReader passes message data through and stops at the first thing
// that must not be stored: a CR not followed by LF, an LF not preceded by
// CR (RFC 5321 §2.3.8; refusing both is the defence against SMTP
// smuggling, since then no line ending is ever ambiguous), a NUL byte, or
// more than max bytes (go-smtp limits DATA itself; BDAT is limited here).
//
// It sees the data after go-smtp's dot-unstuffing, which drops ".\r" at
// the start of a line when no LF follows; what remains is CRLF-clean.
type bodyReader struct {
	r      io.Reader
	max    int64
	n      int64
	prevCR bool
	err    error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if b.err = b.check(p[:n]); b.err != nil {
		return 0, b.err
	}
	if err == io.EOF && b.prevCR {
		b.err = errBareCR
		return 0, b.err
	}
	return n, err
}

// check scans data byte by byte, so that the verdict does not depend on
// how the message was cut into reads: the first offending byte decides.
func (b *bodyReader) check(data []byte) error {
	room := b.max - b.n // bytes still allowed
	for i, c := range data {
		if c > '\r' && !b.prevCR { // fast path: ordinary text
			if int64(i) >= room {
				return errTooBig
			}
			continue
		}
		switch {
		case b.prevCR && c != '\n':
			return errBareCR
		case c == '\n' && !b.prevCR:
			return errBareLF
		case c == 0:
			return errNUL
		case int64(i) >= room:
			return errTooBig
		}
		b.prevCR = c == '\r'
	}
	b.n += int64(len(data))
	return nil
}
