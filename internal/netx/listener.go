package netx

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits bound the connections one listener accepts.
type Limits struct {
	PerIP int // simultaneous connections from one client address
	Total int // simultaneous connections in all
}

// LimitListener wraps a listener so that Accept enforces Limits. A
// connection over a limit is handed to reject (which may write a
// protocol-specific "too busy" reply; it runs in its own goroutine with a
// short deadline) and closed; Accept goes on with the next one.
func LimitListener(ln net.Listener, l Limits, reject func(c net.Conn, reason string)) net.Listener {
	return &limitListener{Listener: ln, limits: l, reject: reject, perIP: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	limits Limits
	reject func(net.Conn, string)
	mu     sync.Mutex
	perIP  map[netip.Addr]int
	total  int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := RemoteAddr(c)
		l.mu.Lock()
		reason := ""
		switch {
		case l.limits.Total > 0 && l.total >= l.limits.Total:
			reason = "too many connections to this server"
		case l.limits.PerIP > 0 && l.perIP[ip] >= l.limits.PerIP:
			reason = "too many connections from your address"
		default:
			l.total++
			l.perIP[ip]++
		}
		l.mu.Unlock()
		if reason != "" {
			go func() {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if l.reject != nil {
					l.reject(c, reason)
				}
				_ = c.Close()
			}()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// NetConn returns the wrapped connection.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

// RemoteAddr returns a connection's client IP address (unmapped), or the
// zero Addr when it has none.
func RemoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// NewConnID returns a short random id that names a connection in logs.
func NewConnID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// IsClosed reports whether err comes from a closed listener or connection.
func IsClosed(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
