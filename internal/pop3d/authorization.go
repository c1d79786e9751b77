package pop3d

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
)

// Implementation is announced by CAPA IMPLEMENTATION (RFC 2449 §6.9).
const Implementation = "mailhouse"

// cmdCapa lists the capabilities of the current state (RFC 2449 §5).
// Before TLS on a plaintext listener neither USER nor SASL is listed,
// since both are refused there, as IMAP's LOGINDISABLED says.
func (s *session) cmdCapa(cmd command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	caps := []string{
		"+OK capability list follows",
		"TOP",
		"UIDL",
		"RESP-CODES",
		"AUTH-RESP-CODE",
		"PIPELINING",
		"EXPIRE " + s.expire(),
		"IMPLEMENTATION " + Implementation,
	}
	if s.state == stateAuthorization {
		if s.tls {
			caps = append(caps, "USER", "SASL PLAIN")
		} else if s.srv.o.TLS != nil {
			caps = append(caps, "STLS")
		}
	}
	for _, c := range caps {
		if err := s.writeLine(c); err != nil {
			return err
		}
	}
	return s.writeLine(".")
}

// expire is the CAPA EXPIRE value of the current state (RFC 2449
// §6.7: "USER" before login when the policy varies by user).
func (s *session) expire() string {
	f := s.srv.o.ExpireFor
	if f == nil {
		return s.srv.o.Expire
	}
	if s.state == stateAuthorization {
		return s.srv.o.Expire + " USER"
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	days, err := f(ctx, s.acct)
	if err != nil {
		s.log.Error("retention policy lookup failed", "err", err)
		return s.srv.o.Expire
	}
	if days <= 0 {
		return "NEVER"
	}
	return strconv.Itoa(days)
}

// cmdStls starts TLS (RFC 2595 §4).
func (s *session) cmdStls(cmd command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	if s.tls {
		return protoErr("", "TLS is already active")
	}
	if s.srv.o.TLS == nil {
		return protoErr("", "TLS is not available")
	}
	if err := s.writeLine("+OK begin TLS negotiation"); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if n := s.r.Buffered(); n > 0 {
		// Plaintext sent after STLS before the handshake could be an
		// injection (CVE-2011-0411); it is thrown away with the reader.
		s.log.Warn("pop3: discarding data pipelined after STLS", "bytes", n)
	}
	if err := s.handshake(); err != nil {
		s.log.Info("pop3: STLS handshake failed", "err", err)
		return err
	}
	// RFC 2595 §4: forget what the client said before TLS.
	s.user = ""
	return nil
}

// handshake runs a server TLS handshake on the raw connection.
func (s *session) handshake() error {
	tc := tls.Server(s.raw, s.srv.o.TLS)
	_ = s.raw.SetDeadline(time.Now().Add(s.srv.o.HandshakeTimeout))
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return err
	}
	_ = s.raw.SetDeadline(time.Time{})
	s.setConn(tc)
	s.tls = true
	st := tc.ConnectionState()
	s.log.Debug("pop3: TLS established", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// needTLS refuses credentials on a plaintext connection.
func (s *session) needTLS() error {
	if s.tls {
		return nil
	}
	return protoErr("", "plaintext logins are disabled: use STLS first")
}

// cmdUser takes the user name (RFC 1939 §7). It says nothing about
// whether the account exists.
func (s *session) cmdUser(cmd command) error {
	if err := s.needTLS(); err != nil {
		return err
	}
	if len(cmd.args) != 1 {
		return protoErr("", "usage: USER name")
	}
	s.user = cmd.args[0]
	return s.writeLine("+OK send PASS")
}

// cmdPass checks the password given after USER (RFC 1939 §7). The whole
// rest of the line is the password, so that it may hold spaces.
func (s *session) cmdPass(cmd command) error {
	if err := s.needTLS(); err != nil {
		return err
	}
	if s.user == "" {
		return protoErr("", "send USER first")
	}
	user := s.user
	s.user = ""
	acct, err := s.srv.o.Auth.Login(s.ctx, user, cmd.rest, s.remote)
	if err != nil {
		return loginError(err)
	}
	return s.openMaildrop(acct)
}

// loginError maps auth.Login's errors to replies.
func loginError(err error) error {
	if errors.Is(err, auth.ErrBlocked) {
		// The client's address is blocked: tell it to come back later
		// (RFC 3206 §4 SYS/TEMP) and end the session.
		return &replyError{kind: kindOther, code: "SYS/TEMP", text: "too many failed logins from your address, try again later", cause: err, close: true}
	}
	if errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrThrottled) {
		return authFailed(err)
	}
	return tempFailure(err)
}

// cmdAuth runs SASL (RFC 5034). Only PLAIN (RFC 4616) is offered.
func (s *session) cmdAuth(cmd command) error {
	if err := s.needTLS(); err != nil {
		return err
	}
	if len(cmd.args) == 0 {
		// RFC 1734 clients ask for the list with a bare AUTH.
		for _, l := range []string{"+OK SASL mechanisms follow", "PLAIN", "."} {
			if err := s.writeLine(l); err != nil {
				return err
			}
		}
		return nil
	}
	if len(cmd.args) > 2 {
		return protoErr("", "usage: AUTH mechanism [initial-response]")
	}
	if !strings.EqualFold(cmd.args[0], sasl.Plain) {
		return protoErr("", "unsupported SASL mechanism")
	}
	var resp string
	if len(cmd.args) == 2 {
		resp = cmd.args[1]
	} else {
		// RFC 5034 §4: an empty challenge, then the client's response.
		if err := s.writeLine("+ "); err != nil {
			return err
		}
		line, err := s.readLine(maxCredentialLine)
		if errors.Is(err, errLineTooLong) {
			return protoErr("", "SASL response too long")
		}
		if err != nil {
			return err
		}
		resp = string(line)
		if resp == "*" {
			return protoErr("", "authentication cancelled")
		}
	}
	var ir []byte
	if resp != "=" { // RFC 5034 §4: "=" is an empty initial response
		var err error
		if ir, err = base64.StdEncoding.DecodeString(resp); err != nil {
			return protoErr("", "invalid base64 in SASL response")
		}
	} else {
		ir = []byte{}
	}
	acct, err := s.plainLogin(ir)
	if err != nil {
		return err
	}
	return s.openMaildrop(acct)
}

var errAuthzid = errors.New("authorization identity differs from the user name")

// plainLogin checks a decoded PLAIN response.
func (s *session) plainLogin(resp []byte) (store.Account, error) {
	var acct store.Account
	var loginErr error
	called := false
	srv := sasl.NewPlainServer(func(identity, username, password string) error {
		called = true
		// RFC 4616 §2: at most 255 octets each; no proxy logins here.
		switch {
		case identity != "" && identity != username:
			loginErr = authFailed(errAuthzid)
		case len(username) > 255 || len(password) > 255 || username == "":
			loginErr = authFailed(errors.New("PLAIN fields too long or empty"))
		default:
			var err error
			if acct, err = s.srv.o.Auth.Login(s.ctx, username, password, s.remote); err != nil {
				loginErr = loginError(err)
			}
		}
		return loginErr
	})
	_, _, err := srv.Next(resp)
	if !called {
		return acct, protoErr("", "malformed PLAIN response")
	}
	if loginErr != nil {
		return acct, loginErr
	}
	if err != nil {
		return acct, tempFailure(err)
	}
	return acct, nil
}

// openMaildrop locks and snapshots the account's INBOX and enters the
// TRANSACTION state (RFC 1939 §4). When another POP3 session holds the
// maildrop the reply is RFC 2449 §8.1.2's IN-USE and the session stays
// in AUTHORIZATION.
func (s *session) openMaildrop(acct store.Account) error {
	unlock, err := s.srv.o.Store.TryLock(s.ctx, "pop3:"+strconv.FormatInt(int64(acct.ID), 10))
	if errors.Is(err, store.ErrLocked) {
		s.log.Info("pop3: maildrop in use", "user", acct.Address)
		return &replyError{kind: kindOther, code: "IN-USE", text: "maildrop already in use by another POP3 session"}
	}
	if err != nil {
		return tempFailure(err)
	}
	drop, err := s.srv.openMaildrop(s.ctx, acct)
	if err != nil {
		unlock()
		return tempFailure(err)
	}
	s.acct, s.drop, s.unlock = acct, drop, unlock
	s.state = stateTransaction
	s.untrack = s.srv.o.Auth.Track(acct, s.end)
	s.log = s.log.With("user", acct.Address)
	s.log.Info("pop3 login", "messages", len(drop.msgs))
	return s.writeLine("+OK maildrop has " + strconv.Itoa(len(drop.msgs)) + " messages")
}
