package imapd

// Internals that the external tests (package imapd_test, which can use
// internal/testenv: testenv imports app, which imports imapd) need.

// Panics is the number of sessions ended by a recovered panic.
func (s *Server) Panics() int64 { return s.panics.Load() }

// MatchPattern is the LIST pattern matcher.
var MatchPattern = matchPattern

// MaxAuthFailures ends a session after this many failed logins.
const MaxAuthFailures = maxAuthFailures
