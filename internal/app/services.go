package app

import (
	"crypto/tls"
	"net"
	"strconv"

	"mailhouse/internal/web"
)

// buildServices makes the services this version has, each with the
// addresses the config gives it.
func (a *App) buildServices(tlsConf *tls.Config) []*service {
	cfg := a.cfg
	var svcs []*service
	add := func(s *service) { svcs = append(svcs, s) }

	// Mail services are added here as their packages land; endpoints()
	// reports only what is built, so help pages never show a dead port.

	w := web.New(web.Options{
		Hostname:  cfg.Hostname,
		TLS:       cloneTLS(tlsConf),
		Endpoints: a.endpoints(svcs),
		HTTPSPort: firstPort(cfg.Listen.HTTPS),
		Logger:    a.log.With("service", "web"),
	})
	add(&service{name: "http", addrs: cfg.Listen.HTTP, serve: w.ServeHTTP, shutdown: w.Shutdown})
	add(&service{name: "https", addrs: cfg.Listen.HTTPS, implicitTLS: true, serve: w.ServeHTTPS})
	return svcs
}

// endpoints lists the client-facing mail endpoints of built services.
func (a *App) endpoints(svcs []*service) []web.Endpoint {
	var eps []web.Endpoint
	for _, s := range svcs {
		proto, sec := clientEndpoint(s.name)
		if proto == "" {
			continue
		}
		for _, addr := range s.addrs {
			if p := port(addr); p != 0 {
				eps = append(eps, web.Endpoint{Protocol: proto, Port: p, Security: sec})
			}
		}
	}
	return eps
}

// clientEndpoint names what a mail client sees of a service; "" for
// services clients do not configure (MX, HTTP).
func clientEndpoint(name string) (proto, security string) {
	switch name {
	case "imaps":
		return "IMAP", "SSL/TLS"
	case "imap":
		return "IMAP", "STARTTLS"
	case "pop3s":
		return "POP3", "SSL/TLS"
	case "pop3":
		return "POP3", "STARTTLS"
	case "submissions":
		return "SMTP", "SSL/TLS"
	case "submission":
		return "SMTP", "STARTTLS"
	}
	return "", ""
}

func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func firstPort(addrs []string) int {
	if len(addrs) == 0 {
		return 0
	}
	return port(addrs[0])
}
