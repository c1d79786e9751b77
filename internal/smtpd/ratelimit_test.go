package smtpd_test

import (
	"sync"
	"testing"

	"mailhouse/internal/smtpd"
)

// TestSendLimit: an account that sent its 3 messages of the hour gets
// 450 4.7.1 for the 4th, the administrator is told once, and another
// account still sends; a recipient limit counts recipients.
func TestSendLimit(t *testing.T) {
	var mu sync.Mutex
	var notices []string
	ts := startServer(t, func(o *smtpd.Options) {
		o.SendLimits = smtpd.SendLimits{MessagesPerHour: 3, RecipientsPerHour: 5}
		o.OnSendLimit = func(a string) { mu.Lock(); notices = append(notices, a); mu.Unlock() }
	}, "alice", "bob")
	send := func(code int, want []string, user, to string) {
		t.Helper()
		ts.wantSwaks(t, code, want, ts.sub465, "--tls-on-connect", "--auth", "PLAIN",
			"--auth-user", user, "--auth-password", pw, "--from", user, "--to", to)
	}
	for range 3 {
		send(0, nil, alice, bob)
	}
	send(24, []string{"450 4.7.1 Sending limit reached"}, alice, bob)
	send(24, []string{"450 4.7.1"}, alice, bob)
	send(0, nil, bob, alice)
	ts.wantInbox(t, bob, 3)
	mu.Lock()
	if len(notices) != 1 || notices[0] != alice {
		t.Errorf("admin notices %q, want one for %s", notices, alice)
	}
	mu.Unlock()
	// Recipients: bob has used 1 of 5; a message to 5 more gets 4 in.
	send(0, []string{"450 4.7.1"}, bob, alice+","+alice+","+alice+","+alice+","+alice)
}
