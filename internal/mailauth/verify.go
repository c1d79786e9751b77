package mailauth

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"mailhouse/internal/dnsx"
	"mailhouse/internal/message"
)

// Action is what the receiving server should do with a message.
type Action int

// The Action values.
const (
	Accept     Action = iota + 1 // deliver to the INBOX
	Quarantine                   // deliver to Junk (DMARC p=quarantine)
	Reject                       // refuse with 550 5.7.1 (DMARC p=reject)
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Reject:
		return "reject"
	}
	return "unknown"
}

// Verifier checks inbound mail. It is safe for concurrent use.
type Verifier struct {
	// Hostname is the authserv-id of our Authentication-Results fields
	// (RFC 8601 §2.5): the MX host name.
	Hostname string
	// Resolver answers SPF, DKIM and DMARC lookups; nil means the system's.
	Resolver dnsx.Resolver
	// MaxSignatures bounds the DKIM signatures verified (default 5).
	MaxSignatures int
	// Timeout bounds all DNS work of one check (default 20s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Input is one received message with its SMTP context.
type Input struct {
	IP       netip.Addr
	HELO     string
	MailFrom string // reverse path; "" for <>
	Data     []byte // the message as received, CRLF
}

// Result is the outcome of Check.
type Result struct {
	// Header is the Authentication-Results field to add, with its CRLF.
	Header string
	Action Action
	SPF    spf.Result // of MAIL FROM (of HELO for the null sender)
	HELO   spf.Result
	DKIM   []authres.DKIMResult
	DMARC  authres.ResultValue
	// Reason explains a DMARC failure, for the log and the reply.
	Reason string
	// FromDomain is the author domain DMARC evaluated ("" if none).
	FromDomain string
	// authservID for Apply.
	authservID string
}

// Check runs SPF, DKIM and DMARC on a message (RFC 7489 §6.6.2's
// order). It never fails: lookups that fail give temperror results, and
// those never lead to Reject.
func (v *Verifier) Check(ctx context.Context, in Input) Result {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := v.resolver()
	r := Result{Action: Accept, authservID: v.Hostname}
	var results []authres.Result

	// SPF (RFC 7208 §2.3, §2.4): HELO, then MAIL FROM (or postmaster@HELO
	// for the null sender).
	ip := net.IP(in.IP.AsSlice())
	opts := []spf.Option{spf.WithResolver(res), spf.WithContext(ctx)}
	helo := strings.TrimSuffix(strings.ToLower(in.HELO), ".")
	r.HELO = spf.None
	if helo != "" && !strings.HasPrefix(helo, "[") && strings.Contains(helo, ".") {
		r.HELO, _ = spf.CheckHostWithSender(ip, helo, "postmaster@"+helo, opts...)
	}
	spfDomain := helo
	if in.MailFrom != "" {
		_, spfDomain, _ = strings.Cut(in.MailFrom, "@")
		spfDomain = strings.ToLower(spfDomain)
		r.SPF, _ = spf.CheckHostWithSender(ip, helo, in.MailFrom, opts...)
		results = append(results, &authres.SPFResult{Value: authres.ResultValue(r.SPF), From: in.MailFrom})
	} else {
		r.SPF = r.HELO
	}
	if helo != "" {
		results = append(results, &authres.SPFResult{Value: authres.ResultValue(r.HELO), Helo: helo})
	}

	// DKIM.
	max := v.MaxSignatures
	if max <= 0 {
		max = 5
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(in.Data), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return res.LookupTXT(ctx, name) },
		MaxVerifications: max,
	})
	if err != nil && len(verifs) == 0 {
		v.log().Info("dkim: not verifiable", "err", err)
	}
	var dkimPass []string
	for _, vf := range verifs {
		d := authres.DKIMResult{Domain: vf.Domain, Identifier: vf.Identifier}
		switch {
		case vf.Err == nil:
			d.Value = authres.ResultPass
			dkimPass = append(dkimPass, strings.ToLower(vf.Domain))
		case dkim.IsTempFail(vf.Err):
			d.Value, d.Reason = authres.ResultTempError, vf.Err.Error()
		case dkim.IsPermFail(vf.Err):
			d.Value, d.Reason = authres.ResultPermError, vf.Err.Error()
		default:
			d.Value, d.Reason = authres.ResultFail, vf.Err.Error()
		}
		r.DKIM = append(r.DKIM, d)
		results = append(results, &d)
	}
	if len(verifs) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}

	// DMARC.
	spfPass := r.SPF == spf.Pass
	dm := v.dmarc(ctx, in.Data, spfDomain, spfPass, dkimPass)
	r.DMARC, r.Reason, r.FromDomain = dm.value, dm.reason, dm.from
	switch {
	case dm.value == authres.ResultFail && dm.policy == "reject":
		r.Action = Reject
	case dm.value == authres.ResultFail && dm.policy == "quarantine":
		r.Action = Quarantine
	}
	results = append(results, &authres.DMARCResult{Value: dm.value, Reason: dm.reason, From: dm.from})

	r.Header = foldHeader("Authentication-Results: " + authres.Format(v.Hostname, results))
	return r
}

func (v *Verifier) resolver() dnsx.Resolver {
	if v.Resolver == nil {
		return dnsx.System()
	}
	return v.Resolver
}

func (v *Verifier) log() *slog.Logger {
	if v.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return v.Logger
}

// foldHeader folds a field at "; " boundaries so that lines stay short
// (RFC 5322 §2.2.3), and ends it with CRLF.
func foldHeader(f string) string {
	parts := strings.Split(f, "; ")
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString(";\r\n\t")
		}
		b.WriteString(p)
	}
	b.WriteString("\r\n")
	return b.String()
}

// Apply returns the message with the Authentication-Results field
// added on top, and any field that claims our authserv-id removed (RFC
// 8601 §5: a forged result from outside must not reach the user).
func (r Result) Apply(msg []byte) []byte {
	clean := StripAuthResults(msg, r.authservID)
	out := make([]byte, 0, len(r.Header)+len(clean))
	out = append(out, r.Header...)
	return append(out, clean...)
}

// StripAuthResults removes the Authentication-Results fields whose
// authserv-id is id from a message's header.
func StripAuthResults(msg []byte, id string) []byte {
	h := headerSection(msg)
	var out []byte
	removed := false
	for _, f := range message.Fields(h) {
		if strings.EqualFold(f.Name, "Authentication-Results") && authservID(f.Value) == strings.ToLower(id) {
			removed = true
			continue
		}
		out = append(out, f.Raw...)
	}
	if !removed {
		return msg
	}
	return append(out, msg[len(h):]...)
}

// authservID is the first token of an Authentication-Results value.
func authservID(v string) string {
	id, _, _ := strings.Cut(v, ";")
	id = strings.TrimSpace(id)
	if i := strings.IndexAny(id, " \t("); i >= 0 {
		id = id[:i]
	}
	return strings.ToLower(id)
}
