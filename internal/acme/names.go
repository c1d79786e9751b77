package acme

import (
	"context"
	"slices"
	"strings"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

// DomainLister lists the hosted domains (store.Directory has it).
type DomainLister interface {
	ListDomains(ctx context.Context) ([]store.Domain, error)
}

// WantedNames lists the names to certify: the hostname, the extra names,
// and each prefix before each hosted domain, without duplicates, the
// hostname first. Names a public CA cannot issue for (a domain such as
// "localhost") are left out.
func (o Options) WantedNames(ctx context.Context) ([]string, error) {
	o.applyDefaults()
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		n = normalizeName(n)
		if !seen[n] && config.IsDNSName(n) {
			seen[n] = true
			names = append(names, n)
		}
	}
	add(o.Hostname)
	for _, n := range o.Names {
		add(n)
	}
	if o.Domains != nil && len(o.DomainPrefixes) > 0 {
		ds, err := o.Domains.ListDomains(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			for _, p := range o.DomainPrefixes {
				add(p + "." + d.Name)
			}
		}
	}
	return sortNames(names, normalizeName(o.Hostname)), nil
}

// normalizeName is the form names are compared in: lower case, no
// trailing dot.
func normalizeName(n string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
}

// sortNames sorts names by domain (labels compared from the right), with
// first (the hostname) at the front.
func sortNames(names []string, first string) []string {
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == first:
			return -1
		case b == first:
			return 1
		}
		return slices.Compare(reversedLabels(a), reversedLabels(b))
	})
	return names
}

func reversedLabels(n string) []string {
	l := strings.Split(n, ".")
	slices.Reverse(l)
	return l
}
