package metrics

import (
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Listener wraps a service's listener so that its connections are
// counted (accepted, open now, how long they stay). Wrap the raw
// listener, under netx.LimitListener, so that refused connections are
// counted too (see Busy).
func (m *Metrics) Listener(service string, ln net.Listener) net.Listener {
	return &countingListener{Listener: ln, m: m, service: service,
		active: m.connectionsActive.WithLabelValues(service)}
}

type countingListener struct {
	net.Listener
	m       *Metrics
	service string
	active  prometheus.Gauge
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.m.connections.WithLabelValues(l.service).Inc()
	l.active.Inc()
	return &countedConn{Conn: c, l: l, start: time.Now()}, nil
}

type countedConn struct {
	net.Conn
	l     *countingListener
	start time.Time
	once  sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.active.Dec()
		c.l.m.connectionSeconds.WithLabelValues(c.l.service).Observe(time.Since(c.start).Seconds())
	})
	return err
}

// NetConn returns the wrapped connection.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// Busy wraps a service's "too busy" reply (the reject function of
// netx.LimitListener) so that refused connections are counted by
// reason. busy may be nil (TLS ports get no plaintext reply).
func (m *Metrics) Busy(service string, busy func(net.Conn, string)) func(net.Conn, string) {
	return func(c net.Conn, reason string) {
		m.connectionsRejected.WithLabelValues(service, reason).Inc()
		if busy != nil {
			busy(c, reason)
		}
	}
}
