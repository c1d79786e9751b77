package queue_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/queue"
	"mailhouse/internal/testutil"
)

// pair starts b.test, then a.test with a static route to b's MX.
func pair(t *testing.T, cfg siteOptions) (a, b *site) {
	t.Helper()
	b = newSite(t, "b.test", siteOptions{cfg: fastConfig, dns: cfg.dns}, "bob")
	routes := map[string]string{"b.test": b.mx}
	cfg.routes = routes
	if cfg.cfg == (queue.Config{}) {
		cfg.cfg = fastConfig
	}
	a = newSite(t, "a.test", cfg, "alice")
	return a, b
}

func TestSubmittedMailReachesOtherServer(t *testing.T) {
	a, b := pair(t, siteOptions{})
	a.submit(t, "alice@a.test", []string{"bob@b.test"}, []string{"Subject: hello b"}, "Hi Bob, greetings from a.test.")
	got := b.waitMailbox(t, "bob@b.test", "INBOX", 1, 10*time.Second)
	msg := got[0]
	for _, want := range []string{"Subject: hello b", "Hi Bob, greetings from a.test.", "Return-Path: <alice@a.test>", "by mx.b.test", "by mx.a.test"} {
		if !strings.Contains(msg, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, msg)
		}
	}
	a.waitQueue(t, 0, 5*time.Second)
	if n := len(a.mailbox(t, "alice@a.test", "INBOX")); n != 0 {
		t.Errorf("sender got %d reports for a delivered message", n)
	}
}

// Several messages to one destination share one connection.
func TestConnectionReused(t *testing.T) {
	a, b := pair(t, siteOptions{})
	ctx := context.Background()
	// Queue them directly, all at once, so that one worker sends them in
	// a row.
	for i := range 5 {
		data := "From: alice@a.test\r\nTo: bob@b.test\r\nSubject: n" + string(rune('0'+i)) + "\r\n\r\nbody\r\n"
		if err := a.queue.Enqueue(ctx, "alice@a.test", []string{"bob@b.test"}, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := b.waitMailbox(t, "bob@b.test", "INBOX", 5, 10*time.Second)
	ids := map[string]bool{}
	for _, m := range msgs {
		// smtpd's Received id is connection-transaction: CONN-N.
		i := strings.Index(m, " id ")
		j := strings.LastIndex(m[i+4:i+40], "-")
		ids[m[i+4:i+4+j]] = true
	}
	if len(ids) >= 5 {
		t.Errorf("every message came on its own connection (%d connections)", len(ids))
	}
}

func TestRefusedRecipientBouncesOnce(t *testing.T) {
	a, b := pair(t, siteOptions{})
	a.submit(t, "alice@a.test", []string{"bob@b.test", "nobody@b.test"}, []string{"Subject: two recipients", "Message-ID: <orig-1@a.test>"}, "One of you does not exist.")
	b.waitMailbox(t, "bob@b.test", "INBOX", 1, 10*time.Second)
	reports := a.waitMailbox(t, "alice@a.test", "INBOX", 1, 10*time.Second)
	r := reports[0]
	for _, want := range []string{
		"Return-Path: <>", "Content-Type: multipart/report; report-type=delivery-status",
		"Content-Type: message/delivery-status", "Final-Recipient: rfc822; nobody@b.test",
		"Action: failed", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1",
		"Content-Type: text/rfc822-headers", "Message-ID: <orig-1@a.test>", "Subject: two recipients",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "Final-Recipient: rfc822; bob@b.test") || strings.Contains(r, "One of you does not exist.") {
		t.Errorf("report names the delivered recipient or carries the body:\n%s", r)
	}
	a.waitQueue(t, 0, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // a second report would have come by now
	a.waitMailbox(t, "alice@a.test", "INBOX", 1, 0)
}

func TestNoReportForNullSender(t *testing.T) {
	a, _ := pair(t, siteOptions{})
	if err := a.queue.Enqueue(context.Background(), "", []string{"nobody@b.test"}, []byte("Subject: a bounce\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	a.waitQueue(t, 0, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	a.waitMailbox(t, "alice@a.test", "INBOX", 0, 0)
}

func TestDownDestinationRetriedUntilUp(t *testing.T) {
	b := newSite(t, "b.test", siteOptions{cfg: fastConfig, noMX: true}, "bob")
	down := testutil.ReservePort(t) // refuses until b listens on it
	a := newSite(t, "a.test", siteOptions{cfg: fastConfig, routes: map[string]string{"b.test": down.Addr}}, "alice")
	a.submit(t, "alice@a.test", []string{"bob@b.test"}, []string{"Subject: patience"}, "Delivered once b is up.")
	// Deferred, with the reason recorded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		es := a.waitQueue(t, 1, 5*time.Second)
		if es[0].Attempts >= 2 {
			if !strings.Contains(es[0].LastError, "connect") || es[0].Recipients[0].Status.String() != "pending" {
				t.Fatalf("deferred entry: %+v", es[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retries: %+v", es[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.serveMX(down.Listen(t))
	b.waitMailbox(t, "bob@b.test", "INBOX", 1, 10*time.Second)
	a.waitQueue(t, 0, 5*time.Second)
	if n := len(a.mailbox(t, "alice@a.test", "INBOX")); n != 0 {
		t.Errorf("sender got %d reports", n)
	}
}

// A destination down for longer than WarnAfter gets the sender one delay
// warning; past MaxAge one failure report, and the entry is gone.
func TestDelayWarningThenExpiry(t *testing.T) {
	cfg := fastConfig
	cfg.WarnAfter = 500 * time.Millisecond
	cfg.MaxAge = 2 * time.Second
	a := newSite(t, "a.test", siteOptions{cfg: cfg, routes: map[string]string{"b.test": testutil.ReservePort(t).Addr}}, "alice")
	a.submit(t, "alice@a.test", []string{"bob@b.test"}, []string{"Subject: doomed"}, "b never comes up.")
	msgs := a.waitMailbox(t, "alice@a.test", "INBOX", 2, 15*time.Second)
	if !strings.Contains(msgs[0], "Action: delayed") || !strings.Contains(msgs[0], "Subject: Delayed Mail") || !strings.Contains(msgs[0], "Will-Retry-Until:") {
		t.Errorf("first report is not a delay warning:\n%s", msgs[0])
	}
	if !strings.Contains(msgs[1], "Action: failed") || !strings.Contains(msgs[1], "Status: 5.4.") || !strings.Contains(msgs[1], "expired") {
		t.Errorf("second report is not an expiry failure:\n%s", msgs[1])
	}
	a.waitQueue(t, 0, 5*time.Second)
}

// Shutdown interrupts an attempt stuck on a next hop that never greets,
// within its context; the entry is not counted as tried and is free for
// the next start.
func TestShutdownInterruptsHangingAttempt(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := hole.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	a := newSite(t, "a.test", siteOptions{cfg: fastConfig, routes: map[string]string{"b.test": hole.Addr().String()}}, "alice")
	if err := a.queue.Enqueue(context.Background(), "alice@a.test", []string{"bob@b.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("never connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.queue.Shutdown(ctx); err == nil {
		t.Error("shutdown reported a clean stop with an attempt in progress")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	es := a.waitQueue(t, 1, 10*time.Second)
	if es[0].Attempts != 0 || es[0].LeaseOwner != "" || es[0].Recipients[0].Status.String() != "pending" {
		t.Errorf("after an interrupted attempt: %+v", es[0])
	}
}
