package ops

import (
	"context"
	"fmt"

	"mailhouse/internal/directory"
	"mailhouse/internal/store"
)

// DomainQuotaInfo is a domain's total storage limit and use.
type DomainQuotaInfo struct {
	Domain     string
	LimitBytes int64 // 0: unlimited
	UsedBytes  int64
	Messages   int
}

func (o *Ops) limits() (store.Limits, error) {
	l, ok := o.Store.(store.Limits)
	if !ok {
		return nil, fail(CodeInternal, "this store keeps no quotas, retention rules or blocks")
	}
	return l, nil
}

// DomainQuota returns a domain's total quota and what its accounts use.
func (o *Ops) DomainQuota(ctx context.Context, domain string) (DomainQuotaInfo, error) {
	d, err := domainArg(domain)
	if err != nil {
		return DomainQuotaInfo{}, err
	}
	l, err := o.limits()
	if err != nil {
		return DomainQuotaInfo{}, err
	}
	limit, used, err := l.DomainQuota(ctx, d)
	if err != nil {
		return DomainQuotaInfo{}, storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	return DomainQuotaInfo{Domain: d, LimitBytes: limit, UsedBytes: used.Bytes, Messages: used.Messages}, nil
}

// SetDomainQuota sets the most bytes all accounts of a domain may hold
// together (0: unlimited).
func (o *Ops) SetDomainQuota(ctx context.Context, domain string, bytes int64) error {
	d, err := domainArg(domain)
	if err != nil {
		return err
	}
	if bytes < 0 {
		return fail(CodeBadRequest, "the quota must not be negative")
	}
	l, err := o.limits()
	if err != nil {
		return err
	}
	if _, err := o.Store.GetDomain(ctx, d); err != nil {
		return storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	if err := l.SetDomainQuota(ctx, d, bytes); err != nil {
		return storeErr(err, "domain "+directory.DisplayDomain(d))
	}
	return o.audit(ctx, "domain.quota", d, fmt.Sprintf("quota=%d", bytes))
}

// Record audits a change made outside Ops (a block lifted through
// internal/auth, which keeps its own state beside the store).
func (o *Ops) Record(ctx context.Context, action, target, detail string) error {
	return o.audit(ctx, action, target, detail)
}
