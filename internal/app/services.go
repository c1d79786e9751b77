package app

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"

	"mailhouse/internal/cli"
	"mailhouse/internal/imapd"
	"mailhouse/internal/pop3d"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/web"
	"mailhouse/internal/web/admin"
	"mailhouse/internal/web/autoconfig"
	"mailhouse/internal/web/webmail"
)

// buildServices makes the services this version has, each with the
// addresses the config gives it.
func (a *App) buildServices(tlsConf *tls.Config) ([]*service, error) {
	cfg := a.cfg
	var svcs []*service
	add := func(s *service) { svcs = append(svcs, s) }

	smtp := smtpd.New(smtpd.Options{
		Hostname: cfg.Hostname, TLS: cloneTLS(tlsConf), Deliverer: a.Deliverer, Resolver: a.Resolver,
		Auth: a.Auth, Config: cfg.SMTP, Outbound: a.Deliverer.HasQueue(), Verifier: a.Verifier,
		SendLimits:  smtpd.SendLimits{MessagesPerHour: cfg.Abuse.SendMessagesPerHour, RecipientsPerHour: cfg.Abuse.SendRecipientsPerHour},
		OnSendLimit: a.sendLimitNotice,
		Logger:      a.log.With("service", "smtp"),
	})
	// One Shutdown ends the sessions of all three SMTP listener kinds.
	add(&service{name: "smtp", addrs: cfg.Listen.SMTP, serve: smtp.ServeMX, busy: smtpd.Busy, shutdown: smtp.Shutdown})
	add(&service{name: "submission", addrs: cfg.Listen.Submission, serve: smtp.ServeSubmission, busy: smtpd.Busy})
	add(&service{name: "submissions", addrs: cfg.Listen.Submissions, implicitTLS: true, serve: smtp.ServeSubmissions})

	imap := imapd.New(imapd.Options{
		Hostname: cfg.Hostname, TLS: cloneTLS(tlsConf), Store: a.Store, Auth: a.Auth,
		Deliverer: a.Deliverer, Config: cfg.IMAP, Version: Version, Logger: a.log.With("service", "imap"),
	})
	a.imap = imap
	add(&service{name: "imap", addrs: cfg.Listen.IMAP, serve: plainServe(imap.Serve), busy: imapd.Busy, shutdown: imap.Shutdown})
	add(&service{name: "imaps", addrs: cfg.Listen.IMAPS, implicitTLS: true, serve: tlsServe(imap.Serve)})

	pop3 := pop3d.New(pop3d.Options{
		Hostname: cfg.Hostname, TLS: cloneTLS(tlsConf), Store: a.Store, Auth: a.Auth,
		Config: cfg.POP3, Logger: a.log.With("service", "pop3"), ExpireFor: a.inboxRetention,
	})
	add(&service{name: "pop3", addrs: cfg.Listen.POP3, serve: plainServe(pop3.Serve), busy: pop3d.Busy, shutdown: pop3.Shutdown})
	add(&service{name: "pop3s", addrs: cfg.Listen.POP3S, implicitTLS: true, serve: tlsServe(pop3.Serve)})

	eps := a.endpoints(svcs)
	console, err := admin.New(admin.Options{
		Store: a.Store, Auth: a.Auth,
		Settings: autoconfig.Settings{Hostname: cfg.Hostname, Endpoints: autoconfig.Sorted(eps),
			HTTPSPort: firstPort(cfg.Listen.HTTPS), MaxMessageBytes: cfg.SMTP.MaxMessageBytes},
		DNSSources: cli.DNSSources(cfg, a.Store),
		Queue:      queueView{a.Store},
		Retention:  a.Retention,
		Logger:     a.log.With("service", "admin"),
	})
	if err != nil {
		return nil, err
	}
	wm := webmail.New(webmail.Options{
		Store: a.Store, Auth: a.Auth, Deliverer: a.Deliverer, Resolver: a.Resolver,
		Hostname: cfg.Hostname, SMTP: cfg.SMTP, Logger: a.log.With("service", "webmail"),
	})
	w := web.New(web.Options{
		Hostname: cfg.Hostname, TLS: cloneTLS(tlsConf), Endpoints: eps,
		HTTPSPort: firstPort(cfg.Listen.HTTPS), MaxMessageBytes: cfg.SMTP.MaxMessageBytes,
		Domains: a.Store, Admin: console, Webmail: wm, Logger: a.log.With("service", "web"),
		WrapHTTP: a.acmeHTTP(),
	})
	webShutdown := func(ctx context.Context) error {
		wm.Close() // live-update streams would hold the graceful shutdown
		return w.Shutdown(ctx)
	}
	add(&service{name: "http", addrs: cfg.Listen.HTTP, serve: w.ServeHTTP, shutdown: webShutdown})
	add(&service{name: "https", addrs: cfg.Listen.HTTPS, implicitTLS: true, serve: w.ServeHTTPS})
	add(&service{name: "metrics", addrs: cfg.Listen.Metrics, serve: a.Metrics.Serve, shutdown: a.Metrics.Shutdown})
	return svcs, nil
}

// acmeHTTP answers ACME HTTP-01 challenges on plain HTTP when ACME is on.
func (a *App) acmeHTTP() func(http.Handler) http.Handler {
	if a.ACME == nil {
		return nil
	}
	return a.ACME.HTTPHandler
}

func plainServe(f func(net.Listener, bool) error) func(net.Listener) error {
	return func(ln net.Listener) error { return f(ln, false) }
}

func tlsServe(f func(net.Listener, bool) error) func(net.Listener) error {
	return func(ln net.Listener) error { return f(ln, true) }
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
