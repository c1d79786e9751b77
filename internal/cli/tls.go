package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"mailhouse/internal/acme"
	"mailhouse/internal/config"
)

// TLSCommands are the `mailhouse tls` subcommands.
func TLSCommands() []Command {
	return []Command{
		{Name: "status", Summary: "each certificate name: issuer, expiry, last ACME error", Run: TLSStatus},
	}
}

// TLSStatus is `mailhouse tls status`: with [tls] acme on, every name
// the server manages or will manage (hostname, acme_names, the prefixes
// of each hosted domain) with its issuer, expiry, renewal time and last
// error, read from the state the server keeps in the data folder; with
// ACME off, the names and expiry of the configured certificate files.
// It fails (exit 1) when a name's last attempt failed or a certificate
// expires within 14 days, so that monitoring can run it.
func TLSStatus(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "tls status", "",
		"Shows each name the server has a certificate for: issuer, expiry and, with ACME, renewal and the last error.")
	if _, err := ParseN(fs, args, 0); err != nil {
		return err
	}
	cfg, err := LoadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	if !cfg.TLS.ACME {
		return fileCertStatus(env.Stdout, cfg)
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := acme.ReadStatus(context.Background(), acme.FromConfig(cfg, st))
	if err != nil {
		return fmt.Errorf("tls status: %w", err)
	}
	return printACMEStatus(env.Stdout, rep, time.Now())
}

// expiryWarning is how close an expiry makes tls status fail.
const expiryWarning = 14 * 24 * time.Hour

func printACMEStatus(w io.Writer, rep acme.Report, now time.Time) error {
	fmt.Fprintf(w, "ACME directory: %s\n", rep.Directory)
	if rep.Updated.IsZero() {
		fmt.Fprintf(w, "The server has not run with ACME yet: no certificate obtained.\n")
	} else {
		fmt.Fprintf(w, "State written by the server: %s\n", stamp(rep.Updated))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tISSUER\tEXPIRES\tSTATE")
	var failing, expiring []string
	for _, s := range rep.Names {
		issuer, expires := "-", "-"
		if s.HasCert() {
			issuer, expires = s.Issuer, stamp(s.NotAfter)
		}
		var state string
		switch {
		case s.LastError != "":
			state = fmt.Sprintf("failing (%d in a row), next try %s", s.Failures, stamp(s.NextAttempt))
			failing = append(failing, s.Name)
		case s.HasCert():
			state = "ok, renews " + stamp(s.RenewAt)
		case s.LastAttempt.IsZero():
			state = "pending: not tried yet"
		default:
			state = "no certificate"
		}
		if s.HasCert() && s.NotAfter.Sub(now) < expiryWarning {
			if s.NotAfter.Before(now) {
				state += "; EXPIRED"
			} else {
				state += "; expires soon"
			}
			expiring = append(expiring, s.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, issuer, expires, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(failing) > 0 {
		fmt.Fprintf(w, "\nLast errors (the certificate in service, if any, keeps being served):\n")
		for _, s := range rep.Names {
			if s.LastError != "" {
				fmt.Fprintf(w, "  %s, %s: %s\n", s.Name, stamp(s.LastAttempt), s.LastError)
			}
		}
	}
	switch {
	case len(failing) > 0 && len(expiring) > 0:
		return fmt.Errorf("tls status: ACME failing for %s; expiring: %s", strings.Join(failing, ", "), strings.Join(expiring, ", "))
	case len(failing) > 0:
		return fmt.Errorf("tls status: ACME failing for %s", strings.Join(failing, ", "))
	case len(expiring) > 0:
		return fmt.Errorf("tls status: expiring within %d days: %s", int(expiryWarning.Hours()/24), strings.Join(expiring, ", "))
	}
	return nil
}

// fileCertStatus describes the certificate files served with ACME off.
func fileCertStatus(w io.Writer, cfg *config.Config) error {
	certFile := cfg.Path(cfg.TLS.CertFile)
	if certFile == "" {
		certFile, _ = DefaultCertPaths(cfg)
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("tls status: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return fmt.Errorf("tls status: %s: no PEM certificate", certFile)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("tls status: %s: %w", certFile, err)
	}
	issuer := leaf.Issuer.CommonName
	if len(leaf.Issuer.Organization) > 0 {
		issuer = strings.TrimSpace(leaf.Issuer.Organization[0] + " " + issuer)
	}
	selfSigned := leaf.CheckSignatureFrom(leaf) == nil
	fmt.Fprintf(w, "ACME is off ([tls] acme = false): serving %s\n", certFile)
	if selfSigned {
		fmt.Fprintf(w, "The certificate is self-signed: mail clients will warn. Set [tls] acme = true for trusted certificates.\n")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tISSUER\tEXPIRES")
	names := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, issuer, stamp(leaf.NotAfter))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := time.Until(leaf.NotAfter); d < expiryWarning {
		return fmt.Errorf("tls status: %s expires %s", certFile, stamp(leaf.NotAfter))
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
