package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
	"mailhouse/internal/web/autoconfig"
)

func TestQueueCLI(t *testing.T) {
	env, cfgPath, out := testEnv(t, "hostname = \"mail.example.com\"\n")
	c, _ := config.Load(cfgPath)
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := st.(store.Queue)
	e, err := q.QueueAdd(ctx, store.NewQueueEntry{From: "alice@example.com", To: []string{"bob@remote.test"},
		Data: []byte("From: alice@example.com\r\nSubject: stuck\r\n\r\nbody\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	// One failed attempt, as a worker records it.
	if _, err := q.QueueLease(ctx, store.LeaseRequest{Owner: "w", Now: time.Now(), For: time.Minute, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	reply := "mx.remote.test said: 451 4.7.1 greylisted, come back later"
	if err := q.QueueFinish(ctx, store.QueueOutcome{ID: e.ID, Owner: "w", Counted: true, LastError: reply,
		NextAttempt: time.Now().Add(time.Hour), Recipients: []store.RecipientResult{{Address: "bob@remote.test", Status: store.RcptPending, Error: reply}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(args ...string) (string, error) {
		out.Reset()
		err := Dispatch(env, "queue", QueueCommands(), append(args, "--config", cfgPath))
		return out.String(), err
	}
	id := fmt.Sprint(e.ID)
	o, err := run("list")
	if err != nil || !strings.Contains(o, id+" ") || !strings.Contains(o, "bob@remote.test") || !strings.Contains(o, "451 4.7.1 greylisted") || !strings.Contains(o, "in 1h0m0s") && !strings.Contains(o, "in 59m") {
		t.Fatalf("queue list: %v\n%s", err, o)
	}
	if o, err := run("show", id); err != nil || !strings.Contains(o, "bob@remote.test\tpending\t1 attempts\t"+reply) || !strings.Contains(o, "  Subject: stuck") {
		t.Fatalf("queue show: %v\n%s", err, o)
	}
	if o, err := run("retry", id); err != nil || !strings.Contains(o, "1 message(s) due now") {
		t.Fatalf("queue retry: %v\n%s", err, o)
	}
	if o, _ := run("list"); !strings.Contains(o, "now") {
		t.Errorf("retried entry not due now:\n%s", o)
	}
	if _, err := run("show", "999"); err == nil {
		t.Error("show of a missing entry succeeded")
	}
	if o, err := run("drop", id); err != nil || !strings.Contains(o, "bounce queued to <alice@example.com>") {
		t.Fatalf("queue drop: %v\n%s", err, o)
	}
	o, _ = run("list")
	if strings.Contains(o, "bob@remote.test") || !strings.Contains(o, "<> (report)") || !strings.Contains(o, "alice@example.com") {
		t.Fatalf("after drop:\n%s", o)
	}
	bounceID := strings.Fields(strings.Split(o, "\n")[1])[0]
	if o, err := run("show", bounceID); err != nil || !strings.Contains(o, "Undelivered Mail Returned to Sender") {
		t.Fatalf("bounce: %v\n%s", err, o)
	}
	if o, err := run("drop", bounceID, "--silent"); err != nil || strings.Contains(o, "bounce") {
		t.Fatalf("drop --silent: %v\n%s", err, o)
	}
	if o, _ := run("list"); !strings.Contains(o, "queue is empty") {
		t.Fatalf("not empty:\n%s", o)
	}
}

// The records `domain dns` prints with the outbound source parse as
// zone-file lines, and hold the DKIM keys, DMARC, MTA-STS and TLS-RPT.
func TestOutboundDNSRecordsParse(t *testing.T) {
	env, cfgPath, _ := testEnv(t, "hostname = \"mail.example.com\"\n[listen]\nsmtp = [\"0.0.0.0:25\"]\nimaps = [\"0.0.0.0:993\"]\n")
	c, _ := config.Load(cfgPath)
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if err := AddDomainKeys(ctx, st, "example.com"); err != nil {
		t.Fatal(err)
	}
	recs, err := autoconfig.Zone(ctx, autoconfig.FromConfig(c), "example.com", OutboundDNSSource(c, st))
	if err != nil {
		t.Fatal(err)
	}
	text := autoconfig.ZoneText("example.com", recs)
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	seen := map[string]string{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		v := rr.String()
		if txt, ok := rr.(*dns.TXT); ok {
			v = strings.Join(txt.Txt, "")
		}
		seen[rr.Header().Name+" "+dns.TypeToString[rr.Header().Rrtype]] += v
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone does not parse: %v\n%s", err, text)
	}
	for _, want := range []struct{ key, value string }{
		{"example.com. MX", "mail.example.com."},
		{"_dmarc.example.com. TXT", "v=DMARC1; p=quarantine"},
		{"_mta-sts.example.com. TXT", "v=STSv1; id="},
		{"mta-sts.example.com. CNAME", "mail.example.com."},
		{"_smtp._tls.example.com. TXT", "v=TLSRPTv1; rua=mailto:postmaster@example.com"},
	} {
		if !strings.Contains(seen[want.key], want.value) {
			t.Errorf("%s: %q lacks %q\n%s", want.key, seen[want.key], want.value, text)
		}
	}
	dkim := 0
	for k, v := range seen {
		if strings.HasSuffix(k, "._domainkey.example.com. TXT") && strings.HasPrefix(v, "v=DKIM1; k=") {
			dkim++
		}
	}
	if dkim != 2 {
		t.Errorf("want an ed25519 and an rsa DKIM record, got %d:\n%s", dkim, text)
	}
}
