package load

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// TLSMode says how a connection is secured.
type TLSMode string

// TLS modes.
const (
	TLSNone     TLSMode = "none"     // plaintext
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (ports 465, 993, 995)
	TLSStart    TLSMode = "starttls" // STARTTLS / STLS after the greeting
)

// Target is where and how to connect.
type Target struct {
	Addr string // host:port
	TLS  TLSMode
	// TLSConfig is used for TLS; when nil, CAFile (if set) is trusted, else
	// certificates are not verified (benchmarks against self-signed
	// loopback servers).
	TLSConfig *tls.Config
	CAFile    string
	// Timeout bounds dialing and every read and write. Default 30s.
	Timeout time.Duration
}

func (t Target) timeout() time.Duration {
	if t.Timeout <= 0 {
		return 30 * time.Second
	}
	return t.Timeout
}

func (t Target) tlsConfig() (*tls.Config, error) {
	if t.TLSConfig != nil {
		return t.TLSConfig.Clone(), nil
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	if t.CAFile == "" {
		return &tls.Config{InsecureSkipVerify: true, ServerName: host}, nil //nolint:gosec // loopback benchmark
	}
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", t.CAFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: host}, nil
}

// Validate checks the target's fields.
func (t Target) Validate() error {
	if t.Addr == "" {
		return errors.New("no address")
	}
	if _, _, err := net.SplitHostPort(t.Addr); err != nil {
		return err
	}
	switch t.TLS {
	case TLSNone, TLSImplicit, TLSStart:
		return nil
	}
	return fmt.Errorf("tls mode %q: want none, implicit or starttls", t.TLS)
}

// conn is a buffered connection with a per-operation deadline.
type conn struct {
	net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
}

// dial connects to t; with TLSImplicit the handshake is done here.
func dial(t Target) (*conn, error) {
	d := net.Dialer{Timeout: t.timeout()}
	nc, err := d.Dial("tcp", t.Addr)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, timeout: t.timeout()}
	if t.TLS == TLSImplicit {
		if err := c.startTLS(t); err != nil {
			nc.Close()
			return nil, err
		}
	}
	c.r = bufio.NewReaderSize(c.Conn, 32<<10)
	c.w = bufio.NewWriterSize(c.Conn, 32<<10)
	return c, nil
}

// startTLS wraps the connection in TLS and handshakes.
func (c *conn) startTLS(t Target) error {
	cfg, err := t.tlsConfig()
	if err != nil {
		return err
	}
	tc := tls.Client(c.Conn, cfg)
	_ = tc.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	c.Conn = tc
	c.r = bufio.NewReaderSize(c.Conn, 32<<10)
	c.w = bufio.NewWriterSize(c.Conn, 32<<10)
	return nil
}

// deadline arms the read/write deadline for the next exchange.
func (c *conn) deadline() { _ = c.Conn.SetDeadline(time.Now().Add(c.timeout)) }

// maxLine bounds one protocol line from the server.
const maxLine = 1 << 20

// errLongLine: the server sent a line over maxLine.
var errLongLine = errors.New("line from server over 1 MiB")

// readLine reads one CRLF- (or LF-) terminated line without the ending.
// Lines longer than the reader's buffer are returned whole, up to
// maxLine.
func (c *conn) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxLine {
				return nil, errLongLine
			}
			line, err = c.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	n := len(line) - 1
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n], nil
}
