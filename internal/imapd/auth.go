package imapd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/imapd/imapwire"
)

// capabilities lists what the session may use now (RFC 9051 §7.2.2).
// Before TLS, LOGIN and AUTHENTICATE are disabled (RFC 9051 §6.2.3,
// LOGINDISABLED) so that no password crosses the network in clear.
func (s *session) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if s.state == stateNotAuth {
		if !s.isTLS && s.srv.o.TLS != nil {
			caps = append(caps, "STARTTLS")
		}
		if s.authAllowed() {
			caps = append(caps, "AUTH=PLAIN", "SASL-IR")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
		return append(caps, "LITERAL+", "ID", "ENABLE")
	}
	caps = append(caps,
		"LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT",
		"CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS",
		"STATUS=SIZE", "APPENDLIMIT="+strconv.FormatInt(s.srv.o.Config.MaxLiteralBytes, 10),
		"ESEARCH", "SEARCHRES", "BINARY", "UTF8=ACCEPT",
		"CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE",
		"SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES")
	if s.isTLS && s.zw == nil {
		// RFC 4978; offered only under TLS (see cmdCompress).
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return caps
}

func (s *session) authAllowed() bool { return s.isTLS || s.srv.o.AllowInsecureAuth }

func (s *session) writeCapabilityLine(prefix, suffix string) {
	s.writeString(prefix + strings.Join(s.capabilities(), " ") + suffix + "\r\n")
}

func (s *session) cmdCapability(c *imapwire.Command) error {
	s.writeCapabilityLine("* CAPABILITY ", "")
	return nil
}

func (s *session) cmdStartTLS(c *imapwire.Command) error {
	if s.isTLS {
		return bad("TLS is already active")
	}
	if s.srv.o.TLS == nil {
		return no("", "TLS is not available")
	}
	if s.br.Buffered() > 0 {
		// Text pipelined after STARTTLS would be taken as sent under TLS
		// (a command injection, CVE-2011-0411 style): refuse it.
		s.bye("data after STARTTLS")
		return nil
	}
	s.tagged(c.Tag, &result{status: "OK", text: "begin TLS negotiation now"})
	if err := s.flush(); err != nil {
		return nil
	}
	tc := tls.Server(s.conn, s.srv.o.TLS)
	_ = tc.SetDeadline(time.Now().Add(s.srv.o.Config.UnauthTimeout.Duration))
	if err := tc.Handshake(); err != nil {
		s.log.Info("STARTTLS handshake failed", "err", err)
		s.state = stateLogout
		return nil
	}
	_ = tc.SetDeadline(time.Time{})
	s.mu.Lock()
	s.conn = tc
	s.mu.Unlock()
	s.isTLS = true
	s.setBuffers()
	// The tagged OK was sent already; execute must not send another.
	return errAlreadyAnswered
}

// errAlreadyAnswered tells execute that the command wrote its own tagged
// response.
var errAlreadyAnswered = &result{status: "ANSWERED"}

func (s *session) cmdLogin(c *imapwire.Command) error {
	if !s.authAllowed() {
		return no("PRIVACYREQUIRED", "use STARTTLS first")
	}
	return s.login(string(c.User), string(c.Password))
}

// login checks credentials and moves to the authenticated state.
func (s *session) login(user, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct, err := s.srv.o.Auth.Login(ctx, user, password, s.remote)
	if err != nil {
		s.authFails++
		if s.authFails >= maxAuthFailures {
			s.byeAfter = "too many failed logins"
		}
		if errors.Is(err, auth.ErrBlocked) {
			// The address is blocked for guessing (RFC 5530 UNAVAILABLE):
			// say so, as SMTP's 421 and POP3's [SYS/TEMP] do, and hang up.
			s.byeAfter = "too many failed logins from your address"
			return no("UNAVAILABLE", "too many failed logins from your address; try again later")
		}
		if errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrThrottled) {
			// RFC 5530 AUTHENTICATIONFAILED; the throttle is not revealed.
			return no("AUTHENTICATIONFAILED", "invalid credentials")
		}
		s.log.Error("login error", "err", err)
		return no("UNAVAILABLE", "authentication is not available now")
	}
	if !s.srv.claimAccount(acct.ID) {
		s.log.Warn("login refused: too many connections", "user", acct.Address)
		return no("LIMIT", "too many connections for this account")
	}
	s.account = acct
	s.state = stateAuth
	s.untrack = s.srv.o.Auth.Track(acct, func() { s.end("account disabled") })
	s.log = s.log.With("user", acct.Address)
	s.log.Info("login", "remote", s.remote)
	// RFC 9051 §6.2.3: a CAPABILITY response code after login.
	return okCode("CAPABILITY "+strings.Join(s.capabilities(), " "), "logged in")
}

func (s *session) cmdAuthenticate(c *imapwire.Command) error {
	if !s.authAllowed() {
		return no("PRIVACYREQUIRED", "use STARTTLS first")
	}
	if c.Mechanism != "PLAIN" {
		return no("", "unsupported mechanism")
	}
	resp := c.InitialRes
	if !c.HasInitial {
		s.writeString("+ \r\n")
		if err := s.flush(); err != nil {
			return err
		}
		line, err := s.rd.ReadLine()
		if err != nil {
			return bad("bad response")
		}
		resp = line
	}
	if string(resp) == "*" {
		return bad("authentication cancelled") // RFC 9051 §6.2.2
	}
	var data []byte
	if string(resp) != "=" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(string(resp)); err != nil {
			return bad("invalid base64")
		}
	}
	// RFC 4616: [authzid] NUL authcid NUL passwd.
	parts := bytes.Split(data, []byte{0})
	if len(parts) != 3 {
		return bad("malformed PLAIN response")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && !strings.EqualFold(authz, user) {
		return no("AUTHORIZATIONFAILED", "cannot act as another user")
	}
	return s.login(user, pass)
}

func (s *session) cmdEnable(c *imapwire.Command) error {
	var enabled []string
	wasCondstore := s.condstore
	for _, cp := range c.Caps {
		switch cp {
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			if !s.utf8 {
				s.utf8 = true
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		case "CONDSTORE":
			// Listed also when a QRESYNC before it in this command turned
			// it on.
			if !wasCondstore && !slices.Contains(enabled, "CONDSTORE") {
				s.enableCondstore()
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// RFC 7162 §3.2.3: QRESYNC implies CONDSTORE; from now on
			// expunges are reported as VANISHED.
			if !s.qresync {
				s.enableCondstore()
				s.qresync = true
				enabled = append(enabled, "QRESYNC")
			}
		}
	}
	// RFC 5161 §3.1: ENABLED lists only what this command enabled.
	s.writeString("* ENABLED")
	for _, e := range enabled {
		s.writeString(" " + e)
	}
	s.writeString("\r\n")
	return nil
}

// utf8Names: mailbox names go as UTF-8 rather than modified UTF-7 (RFC
// 6855 §3 UTF8=ACCEPT; IMAP4rev2 names are UTF-8, RFC 9051 §5.1).
func (s *session) utf8Names() bool { return s.utf8 || s.rev2 }

func (s *session) cmdID(c *imapwire.Command) error {
	if len(c.ID) > 0 {
		var b strings.Builder
		for _, p := range c.ID {
			if len(p.Value) < 128 {
				b.WriteString(p.Name + "=" + string(p.Value) + " ")
			}
		}
		s.log.Info("client id", "id", strings.TrimSpace(b.String()))
	}
	// RFC 2971 §3.2: the server's name and version, and nothing about
	// the host it runs on (§3.3 leaves what to tell to the server).
	b := append(make([]byte, 0, 64), `* ID ("name" "mailhouse" "version" `...)
	b = imapwire.AppendString(b, s.srv.o.Version, false)
	s.writeBytes(append(b, ")\r\n"...))
	return nil
}

func (s *session) cmdNamespace(c *imapwire.Command) error {
	// One personal namespace, "/" delimited; no other users', no shared.
	s.writeString(`* NAMESPACE (("" "/")) NIL NIL` + "\r\n")
	return nil
}
