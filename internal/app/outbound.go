package app

import (
	"context"
	"os"

	"mailhouse/internal/delivery"
	"mailhouse/internal/dnsx"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/message"
	"mailhouse/internal/queue"
	"mailhouse/internal/smtpclient"
	"mailhouse/internal/store"
)

// buildOutbound makes the outbound queue and the inbound mail
// authentication checks: the DNS resolver, the SMTP client with MTA-STS,
// the DKIM signer, and a local deliverer for the reports the queue sends
// our own users.
func (a *App) buildOutbound() {
	cfg := a.cfg
	res := dnsx.SystemCache(dnsx.CacheOptions{})
	if cfg.DNS.Resolver != "" {
		res = dnsx.NewCache(cfg.DNS.Resolver, dnsx.CacheOptions{})
	}
	log := a.log.With("part", "queue")
	var relay *smtpclient.Relay
	if cfg.Relay.Addr != "" {
		relay = &smtpclient.Relay{
			Addr: cfg.Relay.Addr, ImplicitTLS: cfg.Relay.ImplicitTLS,
			Username: cfg.Relay.Username, Password: cfg.Relay.Password, Insecure: cfg.Relay.Insecure,
		}
	}
	dialer := smtpclient.New(smtpclient.Options{
		Hostname: cfg.Hostname, Resolver: res, Relay: relay, Routes: cfg.Routes,
		MTASTS: smtpclient.NewMTASTS(smtpclient.MTASTSOptions{Resolver: res, Logger: log}),
		Logger: log,
	})
	analyze := func(b []byte) []byte { return message.Parse(b).Marshal() }
	local := delivery.New(delivery.Options{Store: a.Store, Resolver: a.Resolver, Analyze: analyze, Logger: log})
	signer := &mailauth.Signer{Keys: a.Store, Logger: log}
	node := cfg.Queue.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	a.Queue = queue.New(queue.Options{
		Store: a.Store, Dialer: dialer, Local: local, Resolver: a.Resolver,
		Hostname: cfg.Hostname, Sign: signer.Sign, Logger: log, OnResult: a.Metrics.QueueResult,
		Config: queue.Config{
			MaxConnections: cfg.Queue.MaxConnections, RetryMin: cfg.Queue.RetryMin.Duration,
			RetryMax: cfg.Queue.RetryMax.Duration, MaxAge: cfg.Queue.MaxAge.Duration,
			WarnAfter: cfg.Queue.WarnAfter.Duration, Node: node,
		},
	})
	a.Deliverer = delivery.New(delivery.Options{
		Store: a.Store, Resolver: a.Resolver, Analyze: analyze, Queue: a.Queue,
		Observe: a.Metrics.ObserveDelivery, Logger: a.log.With("part", "delivery"),
		DefaultQuota: cfg.Quota.DefaultBytes, QuotaWarnings: cfg.Quota.WarnPercent,
		DisabledRefusesMail: cfg.Abuse.DisabledRefusesMail,
	})
	a.Verifier = &mailauth.Verifier{Hostname: cfg.Hostname, Resolver: res, Logger: a.log.With("part", "mailauth")}
}

// sendLimitNotice records, in the audit log the admin console shows,
// that an account went over its hourly sending limit: a sign that its
// password may be in a spammer's hands.
func (a *App) sendLimitNotice(account string) {
	a.log.Warn("account over its sending limit; check it is not compromised", "user", account)
	if adm, ok := a.Store.(store.Admin); ok {
		err := adm.AddAudit(context.Background(), store.AuditEntry{
			Actor: "system", Action: "account.send_limit", Target: account,
			Detail: "over the hourly sending limit; outgoing mail refused with 450 4.7.1 until the hour passes",
		})
		if err != nil {
			a.log.Error("audit entry for the sending limit", "err", err)
		}
	}
}

// inboxRetention is the INBOX retention in days for POP3's CAPA EXPIRE.
func (a *App) inboxRetention(ctx context.Context, acct store.Account) (int, error) {
	inbox, err := a.Store.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return 0, err
	}
	return a.Retention.Days(ctx, acct, inbox)
}
