package mailauth

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"mailhouse/internal/dnsx"
	"mailhouse/internal/message"
)

// dmarcResult is the DMARC verdict for a message.
type dmarcResult struct {
	value  authres.ResultValue
	policy dmarc.Policy // the policy to apply on fail
	reason string
	from   string // author domain
}

// maxFromDomains bounds the From: addresses evaluated.
const maxFromDomains = 5

// dmarc evaluates RFC 7489 §6.6 for the author domain(s): pass when an
// SPF-authenticated or DKIM-authenticated identifier aligns with it.
func (v *Verifier) dmarc(ctx context.Context, msg []byte, spfDomain string, spfPass bool, dkimPass []string) dmarcResult {
	domains := authorDomains(msg)
	if len(domains) == 0 {
		// RFC 7489 §6.6.1: without a single author domain the message
		// cannot be evaluated; it is not ours to refuse on that alone.
		return dmarcResult{value: authres.ResultNone, reason: "no single From: domain"}
	}
	worst := dmarcResult{value: authres.ResultNone}
	for _, d := range domains {
		r := v.dmarcDomain(ctx, d, spfDomain, spfPass, dkimPass)
		if rank(r) > rank(worst) {
			worst = r
		}
	}
	return worst
}

// rank orders results so that the strictest wins across From domains.
func rank(r dmarcResult) int {
	switch {
	case r.value == authres.ResultFail && r.policy == dmarc.PolicyReject:
		return 6
	case r.value == authres.ResultFail && r.policy == dmarc.PolicyQuarantine:
		return 5
	case r.value == authres.ResultFail:
		return 4
	case r.value == authres.ResultTempError:
		return 3
	case r.value == authres.ResultPermError:
		return 2
	case r.value == authres.ResultPass:
		return 1
	}
	return 0
}

func (v *Verifier) dmarcDomain(ctx context.Context, from, spfDomain string, spfPass bool, dkimPass []string) dmarcResult {
	res := v.resolver()
	out := dmarcResult{from: from}
	org := orgDomain(from)
	lookup := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return res.LookupTXT(ctx, name) }}
	// RFC 7489 §6.6.3: the author domain's record, else the
	// organisational domain's.
	rec, err := lookupDMARC(from, lookup)
	subdomain := false
	if err == dmarc.ErrNoPolicy && org != from {
		rec, err = lookupDMARC(org, lookup)
		subdomain = true
	}
	switch {
	case err == dmarc.ErrNoPolicy:
		out.value = authres.ResultNone
		return out
	case err != nil && (dmarc.IsTempFail(err) || dnsx.IsTemporary(err)):
		out.value, out.reason = authres.ResultTempError, err.Error()
		return out
	case err != nil:
		out.value, out.reason = authres.ResultPermError, err.Error()
		return out
	}
	aligned := func(id string, mode dmarc.AlignmentMode) bool {
		id = strings.ToLower(strings.TrimSuffix(id, "."))
		if mode == dmarc.AlignmentStrict {
			return id == from
		}
		return id != "" && orgDomain(id) == org
	}
	if spfPass && aligned(spfDomain, rec.SPFAlignment) {
		out.value = authres.ResultPass
		return out
	}
	for _, d := range dkimPass {
		if aligned(d, rec.DKIMAlignment) {
			out.value = authres.ResultPass
			return out
		}
	}
	out.value = authres.ResultFail
	out.policy = rec.Policy
	if subdomain && rec.SubdomainPolicy != "" {
		out.policy = rec.SubdomainPolicy
	}
	// RFC 7489 §6.6.4: pct < 100 applies the policy to that share only;
	// the rest get the next weaker policy.
	if rec.Percent != nil && *rec.Percent < 100 && !sampled(*rec.Percent) {
		switch out.policy {
		case dmarc.PolicyReject:
			out.policy = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			out.policy = dmarc.PolicyNone
		}
	}
	out.reason = "no aligned SPF or DKIM pass for " + from
	return out
}

// lookupDMARC wraps dmarc.LookupWithOptions, mapping "no such name" to
// ErrNoPolicy (its check only knows *net.DNSError values it made).
func lookupDMARC(domain string, o *dmarc.LookupOptions) (*dmarc.Record, error) {
	rec, err := dmarc.LookupWithOptions(domain, o)
	if err != nil && err != dmarc.ErrNoPolicy && dnsx.IsNotFound(err) {
		return nil, dmarc.ErrNoPolicy
	}
	return rec, err
}

func sampled(pct int) bool {
	n, err := rand.Int(rand.Reader, big.NewInt(100))
	return err == nil && int(n.Int64()) < pct
}

// orgDomain is the organisational domain (RFC 7489 §3.2): the public
// suffix plus one label.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// authorDomains are the distinct domains of the From: field(s).
func authorDomains(msg []byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range message.Fields(headerSection(msg)) {
		if !strings.EqualFold(f.Name, "From") {
			continue
		}
		for _, a := range message.ParseAddressList(f.Value) {
			if a.IsGroupStart() || a.IsGroupEnd() || a.Host == "" {
				continue
			}
			d := strings.ToLower(strings.TrimSuffix(a.Host, "."))
			if !seen[d] && len(out) < maxFromDomains {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}
