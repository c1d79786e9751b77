package smtpd

import (
	"bytes"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"

	"mailhouse/internal/auth"
	"mailhouse/internal/directory"
)

// Auth starts a SASL exchange (RFC 4954). The user name is the full
// email address; the password is never logged.
func (s *session) Auth(mech string) (sasl.Server, error) {
	switch {
	case s.mode == modeMX:
		return nil, s.fail(errNoAuthHere)
	case s.tls == nil:
		// RFC 4954 §4 and RFC 3207 §4: no plaintext passwords.
		return nil, s.fail(errStartTLSFirst)
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		return &plainServer{login: s.login}, nil
	case "LOGIN":
		return &loginServer{login: s.login}, nil
	}
	return nil, s.fail(errAuthMechanism)
}

// login checks credentials and makes the session authenticated.
func (s *session) login(authzid, username, password string) error {
	if authzid != "" && !sameAddress(authzid, username) {
		s.log.Info("login refused: authorization identity differs", "user", sanitizeText(username))
		return s.fail(errAuthzid)
	}
	ctx, cancel := s.cmdContext()
	defer cancel()
	acct, err := s.srv.o.Auth.Login(ctx, username, password, s.c.remote)
	switch {
	case err == nil:
		s.account = &acct
		c := s.c
		s.untrack = s.srv.o.Auth.Track(acct, func() { go c.kick("account disabled") })
		s.log.Info("authenticated", "user", acct.Address)
		return nil
	case errors.Is(err, auth.ErrInvalidCredentials):
		s.log.Info("login failed", "user", sanitizeText(username))
		return s.fail(errAuthFailed)
	case errors.Is(err, auth.ErrBlocked):
		// The client's address is blocked: say so and hang up.
		s.log.Warn("login refused: address blocked", "user", sanitizeText(username))
		s.c.closeAfterReply()
		return errAddressBlocked
	case errors.Is(err, auth.ErrThrottled):
		s.log.Warn("login throttled", "user", sanitizeText(username))
		return errAuthThrottled
	}
	s.log.Error("login check failed", "user", sanitizeText(username), "err", err)
	return errAuthTemp
}

func sameAddress(a, b string) bool {
	na, err1 := directory.Normalize(a)
	nb, err2 := directory.Normalize(b)
	return err1 == nil && err2 == nil && na == nb
}

// loginFunc checks an authorization identity, user name and password.
type loginFunc func(authzid, username, password string) error

// plainServer is the PLAIN mechanism (RFC 4616): one message
// "authzid NUL authcid NUL passwd".
type plainServer struct {
	login loginFunc
	done  bool
}

func (p *plainServer) Next(response []byte) ([]byte, bool, error) {
	if p.done {
		return nil, false, errAuthSyntax
	}
	if response == nil {
		return []byte{}, false, nil // no initial response: empty challenge
	}
	p.done = true
	authzid, user, pass, err := parsePlain(response)
	if err != nil {
		return nil, false, errAuthSyntax
	}
	if err := p.login(authzid, user, pass); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}

// parsePlain splits a PLAIN message (RFC 4616 §2).
func parsePlain(b []byte) (authzid, user, pass string, err error) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[1]) > 255 || len(parts[2]) > 255 || len(parts[0]) > 255 {
		return "", "", "", errors.New("malformed PLAIN message")
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// loginServer is the obsolete but common LOGIN mechanism
// (draft-murchison-sasl-login): "Username:", then "Password:".
type loginServer struct {
	login loginFunc
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	ch, done, err := l.next(response)
	if err != nil {
		l.step = 3 // an exchange ends at its first error
	}
	return ch, done, err
}

func (l *loginServer) next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // initial response carries the user name
	case 1:
		if len(response) == 0 || len(response) > 255 {
			return nil, false, errAuthSyntax
		}
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		if len(response) > 255 {
			return nil, false, errAuthSyntax
		}
		if err := l.login("", l.user, string(response)); err != nil {
			return nil, false, err
		}
		return nil, true, nil
	}
	return nil, false, errAuthSyntax
}
