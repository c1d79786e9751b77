package pop3d

import (
	"bytes"
	"net"
)

// Internals that the external tests (package pop3d_test, which can use
// internal/testenv) need.

// Limits, for tests that cross them.
const (
	MaxCredentialLine = maxCredentialLine
	MaxDiscard        = maxDiscard
)

// PopView is the expected POP3 view of stored bytes, computed another
// way than stuff.go does: CRLF line endings throughout, and a final
// CRLF.
func PopView(b []byte) []byte {
	v := bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	v = bytes.ReplaceAll(v, []byte("\n"), []byte("\r\n"))
	if len(v) > 0 && !bytes.HasSuffix(v, []byte("\r\n")) {
		v = append(v, "\r\n"...)
	}
	return v
}

// ServeFuzzConn runs a plaintext session on c as though TLS were active
// (net.Pipe stands in for a TLS connection) and returns when it ends.
func (s *Server) ServeFuzzConn(c net.Conn) {
	sess := newSession(s, c, false)
	sess.tls = true
	sess.serve()
}
