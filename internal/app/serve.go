package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"mailhouse/internal/cli"
	"mailhouse/internal/config"
)

// NewLogger makes the process logger the config asks for.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	ho := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	if os.Getenv("JOURNAL_STREAM") != "" {
		// Started by systemd with its output in the journal.
		return slog.New(newJournalHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// Serve is `mailhouse serve`.
func Serve(env *cli.Env, args []string) error {
	fs, cfgFlag := cli.NewFlagSet(env, "serve", "", "Runs every configured service until SIGTERM or SIGINT; SIGHUP reloads the TLS certificate.")
	if pos, err := cli.Parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		fs.Usage()
		return cli.ErrUsage
	}
	cfg, err := cli.LoadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	logger := NewLogger(cfg, env.Stderr)
	a, err := New(Options{Config: cfg, Logger: logger})
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		_ = a.Store.Close()
		return err
	}
	logger.Info("mailhouse running", "hostname", cfg.Hostname, "version", Version)
	trimCtx, stopTrim := context.WithCancel(context.Background())
	defer stopTrim()
	go trimMemory(trimCtx, logger, a.releasers())
	return a.runUntilSignal(logger)
}

// runUntilSignal reloads TLS on SIGHUP and shuts down on SIGTERM/SIGINT.
func (a *App) runUntilSignal(logger *slog.Logger) error {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	for s := range sig {
		if s == syscall.SIGHUP {
			if err := a.ReloadTLS(); err != nil {
				logger.Error("TLS reload failed; keeping the old certificate", "err", err)
			} else {
				logger.Info("TLS certificate reloaded")
			}
			continue
		}
		logger.Info("shutting down", "signal", s.String())
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Limits.ShutdownTimeout.Duration)
	defer cancel()
	err := a.Shutdown(ctx)
	if err != nil {
		logger.Error("shutdown", "err", err)
	} else {
		logger.Info("stopped")
	}
	return err
}

// PrintSettings writes the client settings table for the bound addresses.
func (a *App) PrintSettings(w io.Writer, user, password string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSERVER\tPORT\tSECURITY\tUSER NAME")
	type row struct{ svc, port, sec string }
	var rows []row
	for name, addrs := range a.Addrs() {
		for _, ad := range addrs {
			p := fmt.Sprint(port(ad.String()))
			switch name {
			case "smtp":
				rows = append(rows, row{"SMTP (MX, inbound)", p, "STARTTLS"})
			case "http":
				rows = append(rows, row{"HTTP (redirects)", p, "none"})
			case "https":
				rows = append(rows, row{"HTTPS (webmail /mail/, admin /admin)", p, "SSL/TLS"})
			default:
				proto, sec := clientEndpoint(name)
				if proto == "SMTP" {
					proto = "SMTP (sending)"
				}
				rows = append(rows, row{proto, p, sec})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].svc != rows[j].svc {
			return rows[i].svc < rows[j].svc
		}
		return rows[i].port < rows[j].port
	})
	for _, r := range rows {
		u := user
		if strings.HasPrefix(r.svc, "HTTP") || strings.HasPrefix(r.svc, "SMTP (MX") {
			u = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.svc, a.cfg.Hostname, r.port, r.sec, u)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\npassword for %s: %s\n", user, password)
}
