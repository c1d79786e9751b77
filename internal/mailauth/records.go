package mailauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"mailhouse/internal/store"
)

// Record is one DNS record to publish, in zone-file form (the fields of
// autoconfig.Record, which cli maps it to).
type Record struct {
	Name    string // owner, fully qualified with the trailing dot
	TTL     int
	Type    string // TXT, CNAME
	Value   string // unquoted TXT value, or the RDATA of other types
	Comment string
}

// RecordOptions say what the records point at.
type RecordOptions struct {
	// Hostname is the MX host (it serves the MTA-STS policy too).
	Hostname string
	// TTL of the records (default 3600).
	TTL int
}

// MTASTSMaxAge is the max_age of the policy we publish: one week.
const MTASTSMaxAge = 604800

// MTASTSPolicy is the body to serve at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 §3.2) with
// Content-Type text/plain. Mode testing: senders report problems but
// still deliver; switch to enforce once the certificate covers the MX
// name and reports are clean.
func MTASTSPolicy(hostname string) string {
	return fmt.Sprintf("version: STSv1\r\nmode: testing\r\nmx: %s\r\nmax_age: %d\r\n", strings.TrimSuffix(hostname, "."), MTASTSMaxAge)
}

// DNSRecords lists the authentication records of a hosted domain: one
// DKIM key record per selector, DMARC, MTA-STS (the _mta-sts id and the
// mta-sts host that serves the policy) and TLS-RPT. MX, SPF and the
// client records come from autoconfig.
func DNSRecords(ctx context.Context, keys store.DKIMKeys, domain string, o RecordOptions) ([]Record, error) {
	if o.TTL <= 0 {
		o.TTL = 3600
	}
	d := strings.TrimSuffix(domain, ".") + "."
	host := strings.TrimSuffix(o.Hostname, ".") + "."
	ks, err := keys.ListDKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, k := range ks {
		v, err := PublicRecord(k)
		if err != nil {
			return nil, err
		}
		out = append(out, Record{Name: k.Selector + "._domainkey." + d, TTL: o.TTL, Type: "TXT", Value: v,
			Comment: fmt.Sprintf("DKIM %s key (RFC 6376); mailhouse signs with every key of %s", k.Algorithm, domain)})
	}
	report := "mailto:postmaster@" + strings.TrimSuffix(domain, ".")
	policy := MTASTSPolicy(o.Hostname)
	id := sha256.Sum256([]byte(policy))
	out = append(out,
		Record{Name: "_dmarc." + d, TTL: o.TTL, Type: "TXT", Value: "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=" + report,
			Comment: "DMARC (RFC 7489): mail failing SPF and DKIM alignment goes to junk; reports to postmaster"},
		Record{Name: "_mta-sts." + d, TTL: o.TTL, Type: "TXT", Value: "v=STSv1; id=" + hex.EncodeToString(id[:8]),
			Comment: "MTA-STS (RFC 8461): the id changes whenever the policy does"},
		Record{Name: "mta-sts." + d, TTL: o.TTL, Type: "CNAME", Value: host,
			Comment: "serves https://mta-sts." + strings.TrimSuffix(domain, ".") + "/.well-known/mta-sts.txt (the certificate must name it)"},
		Record{Name: "_smtp._tls." + d, TTL: o.TTL, Type: "TXT", Value: "v=TLSRPTv1; rua=" + report,
			Comment: "TLS-RPT (RFC 8460): senders report TLS failures to postmaster"},
	)
	return out, nil
}
