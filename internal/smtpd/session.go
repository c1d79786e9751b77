package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// session is one go-smtp session: from EHLO until the connection ends or
// STARTTLS starts a new one (RFC 3207 §4.2: everything known before TLS
// is forgotten).
type session struct {
	srv  *Server
	mode mode
	c    *conn
	lib  *smtp.Conn
	nc   net.Conn // the conn go-smtp reads from (TLS or raw)
	log  *slog.Logger

	tls     *tls.ConnectionState // nil without TLS
	account *store.Account       // logged-in user (submission)
	untrack func()               // removes the login from auth's registry

	// mu guards errors, tx and transaction.done: with BDAT, go-smtp runs
	// Data in its own goroutine while RSET or a close may end the
	// transaction.
	mu     sync.Mutex
	errors int // refusals so far, see fail
	txSeq  int
	tx     *transaction
}

// transaction is one MAIL ... DATA exchange.
type transaction struct {
	id       string
	started  time.Time
	helo     string
	from     string // canonical reverse path (see canonicalPath); "" for <>
	utf8     bool   // MAIL ... SMTPUTF8
	sizeHint int64  // MAIL ... SIZE=
	rcpts    []string
	resolved []directory.Resolution
	admitted []delivery.Admission // quota read at RCPT, for Deliver to reuse
	external []string             // submission: recipients in other domains
	rejected int
	done     bool // logged
}

func (s *Server) newSession(lc *smtp.Conn, m mode) (smtp.Session, error) {
	nc := lc.Conn()
	c := connOf(nc)
	if c == nil {
		return nil, errTempLocal // not one of our listeners: cannot happen
	}
	if s.shutting.Load() {
		c.closeAfterReply()
		return nil, errShuttingDown
	}
	c.setProto(nc)
	ss := &session{srv: s, mode: m, c: c, lib: lc, nc: nc, log: c.log}
	if st, ok := lc.TLSConnectionState(); ok {
		ss.tls = &st
	}
	return ss, nil
}

// fail counts a refusal; past Config.MaxErrors the reply becomes the
// last one (421, then the connection closes).
func (s *session) fail(e *smtp.SMTPError) error {
	s.mu.Lock()
	if e.Code >= 500 {
		s.errors++
	}
	n := s.errors
	s.mu.Unlock()
	if n >= s.srv.o.Config.MaxErrors {
		s.log.Warn("too many errors, closing connection", "errors", n, "last", e.Message)
		s.c.closeAfterReply()
		return errTooManyErrors
	}
	return e
}

// cmdContext bounds the lookups one command makes; it ends early when a
// shutdown gives up waiting.
func (s *session) cmdContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.srv.ctx, s.srv.o.Config.CommandTimeout.Duration)
}

// AuthMechanisms lists the SASL mechanisms offered in EHLO: only on
// submission, and only under TLS (RFC 4954 §4, RFC 8314).
func (s *session) AuthMechanisms() []string {
	if s.mode == modeMX || s.tls == nil {
		return nil
	}
	return []string{"PLAIN", "LOGIN"}
}

// Mail starts a transaction (RFC 5321 §4.1.1.2).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.c.isClosed() {
		return errConnectionGone
	}
	if s.mode != modeMX && s.account == nil {
		// RFC 4954 §6: a client that is not set to authenticate learns it
		// needs to, rather than seeing a relay refusal later.
		return s.fail(errAuthRequired)
	}
	if s.currentTx() != nil {
		return s.fail(errNestedMail) // RFC 5321 §4.1.4: MAIL only after RSET or DATA
	}
	path, err := canonicalPath(from)
	if err != nil {
		s.log.Info("sender refused", "from", sanitizeText(from), "err", err)
		return s.fail(errBadSender)
	}
	if s.mode != modeMX {
		if path == "" {
			return s.fail(errNullSender)
		}
		ctx, cancel := s.cmdContext()
		defer cancel()
		ok, err := s.srv.o.Resolver.Owns(ctx, *s.account, from)
		if err != nil {
			s.log.Error("sender check failed", "from", path, "err", err)
			return errTempLocal
		}
		if !ok {
			s.log.Warn("sender refused: not the user's address", "user", s.account.Address, "from", path)
			return s.fail(errNotYourSender)
		}
	}
	tx := &transaction{
		started: time.Now(),
		helo:    s.lib.Hostname(),
		from:    path,
	}
	if opts != nil {
		tx.utf8 = opts.UTF8
		tx.sizeHint = opts.Size
	}
	s.mu.Lock()
	s.txSeq++
	tx.id = fmt.Sprintf("%s-%d", s.c.id, s.txSeq)
	s.tx = tx
	s.mu.Unlock()
	return nil
}

// Rcpt adds a recipient (RFC 5321 §4.1.1.3). Local recipients are
// resolved now, so that an unknown user is refused here and never
// bounced later; other domains are refused on MX (no relay).
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.c.isClosed() {
		return errConnectionGone
	}
	tx := s.currentTx()
	if tx == nil {
		return errTempLocal // go-smtp checks MAIL first: cannot happen
	}
	if s.account != nil {
		if ok, notify := s.srv.rate.allow(s.account.Address, len(tx.rcpts)); !ok {
			tx.rejected++
			if notify {
				s.log.Warn("account hit its sending limit: compromised?", "user", s.account.Address,
					"messages_per_hour", s.srv.rate.lim.MessagesPerHour, "recipients_per_hour", s.srv.rate.lim.RecipientsPerHour)
				if s.srv.o.OnSendLimit != nil {
					s.srv.o.OnSendLimit(s.account.Address)
				}
			}
			return errSendLimit
		}
	}
	ctx, cancel := s.cmdContext()
	defer cancel()
	res, err := s.srv.o.Deliverer.Resolve(ctx, to)
	if err != nil && s.mode != modeMX && errors.Is(err, directory.ErrNotLocal) {
		// An authenticated user may send anywhere, through the queue.
		if !s.srv.o.Outbound {
			tx.rejected++
			s.log.Info("recipient deferred: no outbound queue", "to", sanitizeText(to))
			return errNoQueue
		}
		addr, nerr := directory.Normalize(to)
		if nerr != nil {
			tx.rejected++
			return s.fail(errBadRecipient)
		}
		tx.rcpts = append(tx.rcpts, addr)
		tx.external = append(tx.external, addr)
		return nil
	}
	if err != nil {
		e := rcptError(err)
		tx.rejected++
		if e == errTempLocal {
			s.log.Error("recipient lookup failed", "to", sanitizeText(to), "err", err)
			return e
		}
		s.log.Info("recipient refused", "to", sanitizeText(to), "reply", e.Code, "err", err)
		return s.fail(e)
	}
	// A full mailbox is refused here, before the body is sent; with
	// MAIL ... SIZE= the announced size counts (RFC 1870 §6.3).
	for _, acct := range res.Accounts {
		adm, err := s.srv.o.Deliverer.Admit(ctx, acct, 1, tx.sizeHint)
		if err != nil {
			tx.rejected++
			e := rcptError(err)
			if e == errTempLocal {
				s.log.Error("quota check failed", "to", res.Address, "err", err)
			} else {
				s.log.Info("recipient refused: mailbox full", "to", res.Address, "err", err)
			}
			return e
		}
		tx.admitted = append(tx.admitted, adm)
	}
	tx.rcpts = append(tx.rcpts, res.Address)
	tx.resolved = append(tx.resolved, res)
	return nil
}

// Reset ends the transaction (RSET, EHLO, after DATA).
func (s *session) Reset() {
	s.endTx("aborted")
}

// Logout ends the session (connection closed, or STARTTLS).
func (s *session) Logout() error {
	if s.untrack != nil {
		s.untrack()
		s.untrack = nil
	}
	s.endTx("aborted")
	s.c.setProto(nil)
	return nil
}

func (s *session) currentTx() *transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx
}

// endTx logs a transaction that ended without a DATA result.
func (s *session) endTx(result string) {
	s.mu.Lock()
	tx := s.tx
	s.tx = nil
	s.mu.Unlock()
	if tx != nil {
		s.logTx(tx, result, 0)
	}
}

// logTx writes the one log line of a transaction, once.
func (s *session) logTx(tx *transaction, result string, size int) {
	s.mu.Lock()
	done := tx.done
	tx.done = true
	s.mu.Unlock()
	if done {
		return
	}
	user := ""
	if s.account != nil {
		user = s.account.Address
	}
	s.log.Info("smtp transaction",
		"tx", tx.id,
		"user", user,
		"helo", sanitizeText(tx.helo),
		"from", tx.from,
		"to", strings.Join(tx.rcpts, ","),
		"rejected_rcpts", tx.rejected,
		"size", size,
		"tls", s.tls != nil,
		"result", result,
		"duration", time.Since(tx.started).Round(time.Millisecond),
	)
}

// sanitizeText makes client-supplied text safe for logs and replies:
// printable characters only, at most about 200 bytes.
func sanitizeText(s string) string {
	const max = 200
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			b.WriteString("...")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
