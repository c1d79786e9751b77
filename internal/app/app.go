// Package app wires mailhouse together: it opens the store, builds the
// directory, authenticator and deliverer, starts a listener for every
// configured address of every service, reloads certificates on SIGHUP and
// shuts everything down in order. It is the only package that picks a
// concrete store.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"mailhouse/internal/acme"
	"mailhouse/internal/auth"
	"mailhouse/internal/cli"
	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/imapd"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/metrics"
	"mailhouse/internal/netx"
	"mailhouse/internal/queue"
	"mailhouse/internal/retention"
	"mailhouse/internal/store"
)

// Options configure an App.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// AuthParams override the argon2id costs (tests use cheap ones).
	AuthParams auth.Params
}

// App is a running mailhouse.
type App struct {
	cfg       *config.Config
	log       *slog.Logger
	Store     store.Store
	Certs     netx.CertSource
	ACME      *acme.Manager // nil unless [tls] acme = true
	Metrics   *metrics.Metrics
	Retention *retention.Job
	Resolver  *directory.Resolver
	Auth      *auth.Authenticator
	Deliverer *delivery.Deliverer
	Queue     *queue.Queue
	Verifier  *mailauth.Verifier

	services []*service
	closing  atomic.Bool
	mu       sync.Mutex
	addrs    map[string][]net.Addr
	wg       sync.WaitGroup

	// imap is kept for the memory trimmer (releasers).
	imap *imapd.Server
}

// service is one protocol on its listeners.
type service struct {
	name        string // config key, e.g. "imaps"
	addrs       []string
	implicitTLS bool
	serve       func(net.Listener) error
	busy        func(net.Conn, string)
	shutdown    func(context.Context) error
	listeners   []net.Listener
}

// New opens the store and builds every configured service (without
// listening yet).
func New(o Options) (*App, error) {
	cfg := o.Config
	a := &App{cfg: cfg, log: o.Logger, addrs: map[string][]net.Addr{}}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	certFile, keyFile := cfg.Path(cfg.TLS.CertFile), cfg.Path(cfg.TLS.KeyFile)
	if certFile == "" {
		certFile, keyFile = cli.DefaultCertPaths(cfg)
	}
	if _, err := os.Stat(certFile); cfg.TLS.ACME && cfg.TLS.CertFile == "" && errors.Is(err, fs.ErrNotExist) {
		// With ACME the files are only the fallback until the first
		// certificate arrives: make one rather than refuse to start.
		if err := netx.GenerateSelfSigned(cfg.Hostname, certFile, keyFile); err != nil {
			return nil, fmt.Errorf("fallback certificate: %w", err)
		}
	}
	certs, err := netx.LoadCert(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w (run mailhouse init, or set [tls] cert_file and key_file)", err)
	}
	a.Certs = certs
	st, err := OpenStore(cfg, a.log)
	if err != nil {
		return nil, err
	}
	a.Store = st
	if cfg.TLS.ACME {
		ao := acme.FromConfig(cfg, st)
		ao.Fallback, ao.Logger = certs, a.log.With("part", "acme")
		m, err := acme.New(ao)
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("tls.acme: %w", err)
		}
		a.ACME, a.Certs = m, m
	}
	a.Resolver = &directory.Resolver{Dir: st}
	a.Metrics = metrics.New(metrics.Options{Store: st, Version: Version, Logger: a.log.With("part", "metrics")})
	a.Auth = auth.New(auth.Options{
		Dir: st, Logger: a.log.With("part", "auth"), Params: o.AuthParams,
		FailuresPerIP: cfg.Limits.LoginFailuresPerIP, FailuresPerNet: cfg.Abuse.LoginFailuresPerNet,
		FailuresPerAccount: cfg.Abuse.LoginFailuresPerAccount, Window: cfg.Abuse.LoginWindow.Duration,
		Block: cfg.Limits.LoginBlock.Duration, Delay: cfg.Abuse.LoginDelay.Duration, MaxDelay: cfg.Abuse.LoginDelayMax.Duration,
		Observe: a.Metrics.ObserveLogin, MaxConcurrent: loginHashes(),
	})
	a.Retention = retention.New(retention.Options{
		Store: st, Defaults: cfg.Retention.Folders, Interval: cfg.Retention.Interval.Duration,
		Batch: cfg.Retention.Batch, Logger: a.log.With("part", "retention"),
	})
	a.buildOutbound()
	if a.services, err = a.buildServices(a.Certs.TLSConfig()); err != nil {
		_ = st.Close()
		return nil, err
	}
	return a, nil
}

// Start listens on every configured address. On error, whatever was
// opened is closed again.
func (a *App) Start() error {
	for _, s := range a.services {
		for _, addr := range s.addrs {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				a.closeListeners()
				return fmt.Errorf("listen.%s: %w", s.name, err)
			}
			busy := s.busy
			if s.implicitTLS {
				busy = nil // no plaintext reply on a TLS port
			}
			counted := a.Metrics.Listener(s.name, ln)
			lim := netx.LimitListener(counted, netx.Limits{PerIP: a.cfg.Limits.MaxConnsPerIP, Total: a.cfg.Limits.MaxConns}, a.Metrics.Busy(s.name, busy))
			s.listeners = append(s.listeners, lim)
			a.mu.Lock()
			a.addrs[s.name] = append(a.addrs[s.name], ln.Addr())
			a.mu.Unlock()
		}
	}
	if a.ACME != nil {
		a.ACME.Start()
	}
	a.Retention.Start()
	a.Auth.Start()
	if err := a.Queue.Start(context.Background()); err != nil {
		a.closeListeners()
		return fmt.Errorf("outbound queue: %w", err)
	}
	for _, s := range a.services {
		for _, ln := range s.listeners {
			a.wg.Add(1)
			go func(s *service, ln net.Listener) {
				defer a.wg.Done()
				if err := s.serve(ln); err != nil && !a.closing.Load() && !netx.IsClosed(err) {
					a.log.Error("service stopped", "service", s.name, "addr", ln.Addr().String(), "err", err)
				}
			}(s, ln)
			a.log.Info("listening", "service", s.name, "addr", ln.Addr().String())
		}
	}
	return nil
}

// Addrs returns the bound addresses of each service (by config key).
func (a *App) Addrs() map[string][]net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]net.Addr, len(a.addrs))
	for k, v := range a.addrs {
		out[k] = append([]net.Addr(nil), v...)
	}
	return out
}

// Services lists the services that are built in this version, by config
// key, whether or not they are configured to listen.
func (a *App) Services() []string {
	var names []string
	for _, s := range a.services {
		names = append(names, s.name)
	}
	return names
}

func (a *App) closeListeners() {
	for _, s := range a.services {
		for _, ln := range s.listeners {
			_ = ln.Close()
		}
	}
}

// ReloadTLS reads the certificate files again; connections keep going.
func (a *App) ReloadTLS() error { return a.Certs.Reload() }

// Shutdown stops accepting, lets every service end its sessions within
// ctx, then closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	a.closing.Store(true)
	a.closeListeners()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range a.services {
		if s.shutdown == nil {
			continue
		}
		wg.Add(1)
		go func(s *service) {
			defer wg.Done()
			if err := s.shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
				mu.Unlock()
			}
		}(s)
	}
	wg.Wait()
	a.wg.Wait()
	if err := a.Queue.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("queue: %w", err))
	}
	if a.ACME != nil {
		errs = append(errs, a.ACME.Stop(ctx))
	}
	errs = append(errs, a.Retention.Shutdown(ctx), a.Auth.Shutdown(ctx))
	errs = append(errs, a.Store.Close())
	return errors.Join(errs...)
}

// tlsConfig is a helper for services that need their own copy.
func cloneTLS(c *tls.Config) *tls.Config { return c.Clone() }
