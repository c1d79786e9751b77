package cli

import (
	"context"
	"errors"
	"fmt"

	"mailhouse/internal/config"
	"mailhouse/internal/directory"
	"mailhouse/internal/store"
	"mailhouse/internal/web/autoconfig"
)

// DomainDNS is `mailhouse domain dns [DOMAIN]`: the DNS records to
// publish for one hosted domain, or for each, as zone-file lines derived
// from the config (hostname, listeners): MX, SPF, the RFC 6186/8314 SRV
// records (implicit TLS preferred) and the autoconfig/autodiscover
// names. The admin console shows the same records (autoconfig.Zone).
func DomainDNS(env *Env, args []string) error {
	fs, cfgFlag := NewFlagSet(env, "domain dns", "[DOMAIN]",
		"Prints the DNS records to publish for a hosted domain (all domains without DOMAIN), as zone-file lines.")
	domain, err := ParseDomain(fs, args)
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	st, err := env.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	var domains []string
	if domain != "" {
		if _, err := st.GetDomain(ctx, domain); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("domain dns: domain %s is not hosted here (add it with: mailhouse domain add %s)", domain, domain)
		} else if err != nil {
			return fmt.Errorf("domain dns: %w", err)
		}
		domains = []string{domain}
	} else {
		ds, err := st.ListDomains(ctx)
		if err != nil {
			return fmt.Errorf("domain dns: %w", err)
		}
		for _, d := range ds {
			domains = append(domains, d.Name)
		}
	}
	s := autoconfig.FromConfig(cfg)
	for i, d := range domains {
		recs, err := autoconfig.Zone(ctx, s, d, DNSSources(cfg, st)...)
		if err != nil {
			return fmt.Errorf("domain dns: %w", err)
		}
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		fmt.Fprint(env.Stdout, autoconfig.ZoneText(directory.DisplayDomain(d), recs))
	}
	return nil
}

// DNSSources are the record sources beyond the client-facing ones: DKIM
// selectors, DMARC, MTA-STS and TLS-RPT. The console calls the same
// function, so both always print the same records.
func DNSSources(cfg *config.Config, st store.Store) []autoconfig.RecordSource {
	return []autoconfig.RecordSource{OutboundDNSSource(cfg, st)}
}
