package smtpd_test

import (
	"context"
	"testing"

	"mailhouse/internal/delivery"
	"mailhouse/internal/message"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
)

// TestDisabledRefusesMailSwaks: with abuse.disabled_refuses_mail a
// disabled account's mail is refused at RCPT with 550 5.2.1; without it
// (the default) the mail is accepted.
func TestDisabledRefusesMailSwaks(t *testing.T) {
	for _, refuse := range []bool{true, false} {
		ts := startServer(t, func(o *smtpd.Options) {
			o.Deliverer = delivery.New(delivery.Options{
				Store: o.Resolver.Dir.(store.Store), Resolver: o.Resolver, DisabledRefusesMail: refuse,
				Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
			})
		}, "alice", "bob")
		if err := ts.Store.(store.Admin).SetDisabled(context.Background(), bob, true); err != nil {
			t.Fatal(err)
		}
		if refuse {
			ts.wantSwaks(t, 24, []string{"<** 550 5.2.1"}, ts.mx, "--from", "sender@other.test", "--to", bob)
			ts.wantSwaks(t, 0, nil, ts.mx, "--from", "sender@other.test", "--to", alice)
			ts.wantInbox(t, alice, 1)
		} else {
			ts.wantSwaks(t, 0, nil, ts.mx, "--from", "sender@other.test", "--to", bob)
			ts.wantInbox(t, bob, 1)
		}
	}
}
