package queue_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/dnsx"
	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/mailauth"
	"mailhouse/internal/message"
	"mailhouse/internal/queue"
	"mailhouse/internal/smtpclient"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// site is one mail domain on its own mailhouse stack: a store, the SMTP
// server (MX and submission on loopback) and the outbound queue.
type site struct {
	*testenv.Stack
	domain string
	host   string // mx.DOMAIN
	queue  *queue.Queue
	qstore store.Queue
	del    *delivery.Deliverer
	srv    *smtpd.Server
	mx     string // host:port of port "25"
	sub    string // submission
	routes map[string]string
	wg     sync.WaitGroup
}

// siteOptions tune a site before it starts.
type siteOptions struct {
	cfg    queue.Config
	routes map[string]string
	dns    *dnstest.Server
	// noMX: do not start the MX listener (a destination that is down).
	noMX bool
	// sign DKIM-signs outgoing mail.
	sign func(context.Context, []byte) []byte
	// dial opens outbound connections (to send from another loopback IP).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// verifier checks SPF, DKIM and DMARC on port 25.
	verifier *mailauth.Verifier
}

// fastConfig retries quickly, as tests need.
var fastConfig = queue.Config{
	RetryMin: 200 * time.Millisecond, RetryMax: time.Second, Poll: 100 * time.Millisecond,
	IdleConnection: 200 * time.Millisecond, Lease: 10 * time.Second, Node: "test-node",
}

func newSite(t *testing.T, domain string, so siteOptions, users ...string) *site {
	t.Helper()
	st := testenv.NewStack(t)
	ctx := context.Background()
	if _, err := st.Store.AddDomain(ctx, domain); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		st.AddUser(t, u+"@"+domain)
	}
	s := &site{Stack: st, domain: domain, host: "mx." + domain, routes: so.routes}
	s.qstore = st.Store.(store.Queue)
	analyze := func(b []byte) []byte { return message.Parse(b).Marshal() }
	var res dnsx.Resolver = dnsx.Via("127.0.0.1:1") // nothing answers: no test reaches real DNS
	if so.dns != nil {
		res = dnsx.Via(so.dns.Addr)
	}
	local := delivery.New(delivery.Options{Store: st.Store, Resolver: st.Resolver, Logger: st.Logger, Analyze: analyze})
	s.queue = queue.New(queue.Options{
		Store: s.qstore,
		Dialer: smtpclient.New(smtpclient.Options{
			Hostname: s.host, Resolver: res, Routes: so.routes, Logger: st.Logger, Dial: so.dial,
			CommandTimeout: 5 * time.Second, DataTimeout: 5 * time.Second, ConnectTimeout: 2 * time.Second,
		}),
		Local: local, Resolver: st.Resolver, Hostname: s.host,
		Sign: so.sign, Config: so.cfg, Logger: st.Logger,
	})
	s.del = delivery.New(delivery.Options{Store: st.Store, Resolver: st.Resolver, Logger: st.Logger, Analyze: analyze, Queue: s.queue})
	s.srv = smtpd.New(smtpd.Options{
		Hostname: s.host, TLS: st.ServerTLS, Deliverer: s.del, Resolver: st.Resolver, Auth: st.Auth,
		Outbound: true, Logger: st.Logger, Verifier: so.verifier,
		Config: config.SMTP{CommandTimeout: config.Duration{Duration: 10 * time.Second}, DataTimeout: config.Duration{Duration: 10 * time.Second}},
	})
	serve := func(ln net.Listener, f func(net.Listener) error) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := f(ln); err != nil {
				t.Errorf("serve: %v", err)
			}
		}()
	}
	if !so.noMX {
		s.mx = s.listenMX(t, "127.0.0.1:0")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.sub = ln.Addr().String()
	serve(ln, s.srv.ServeSubmission)
	if err := s.queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.queue.Shutdown(ctx); err != nil {
			t.Errorf("queue shutdown: %v", err)
		}
		if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("smtpd shutdown: %v", err)
		}
		s.wg.Wait()
	})
	return s
}

// listenMX serves the MX service on addr.
func (s *site) listenMX(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return s.serveMX(ln)
}

// serveMX serves the site's MX on ln.
func (s *site) serveMX(ln net.Listener) string {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.ServeMX(ln)
	}()
	return ln.Addr().String()
}

// inbox returns the messages of an account's mailbox, as stored.
func (s *site) mailbox(t testing.TB, addr, name string) []string {
	t.Helper()
	ctx := context.Background()
	mb := s.Mailbox(t, addr, name)
	metas, err := s.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range metas {
		b, err := s.Store.ReadMessage(ctx, mb.ID, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// waitMailbox waits until a mailbox holds n messages and returns them.
func (s *site) waitMailbox(t testing.TB, addr, name string, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := s.mailbox(t, addr, name)
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("%s %s holds %d messages, want %d; queue: %s", addr, name, len(msgs), n, s.queueSummary(t))
			}
			return msgs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitQueue waits until the queue holds n entries.
func (s *site) waitQueue(t testing.TB, n int, within time.Duration) []store.QueueEntry {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		es, err := s.qstore.QueueList(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == n {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d entries, want %d: %s", len(es), n, s.queueSummary(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *site) queueSummary(t testing.TB) string {
	es, _ := s.qstore.QueueList(context.Background())
	var b strings.Builder
	for _, e := range es {
		b.WriteString("[" + e.From + " -> ")
		for _, r := range e.Recipients {
			b.WriteString(r.Address + "(" + r.Status.String() + ": " + r.LastError + ") ")
		}
		b.WriteString("attempts " + strconv.Itoa(e.Attempts) + "] ")
	}
	return b.String()
}

// submit sends a message through the site's submission port with swaks
// (STARTTLS, AUTH PLAIN), as a user's mail client would.
func (s *site) submit(t *testing.T, from string, to []string, headers []string, body string) {
	t.Helper()
	swaks := testutil.NeedTool(t, "swaks")
	args := []string{"--server", s.sub, "--tls", "--auth", "PLAIN", "--auth-user", from, "--auth-password", testenv.Password,
		"--from", from, "--to", strings.Join(to, ","), "--helo", "client.test", "--body", body, "--timeout", "20"}
	for _, h := range headers {
		args = append(args, "--header", h)
	}
	cmd := exec.Command(swaks, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "<~  250 ") {
		t.Fatalf("swaks: message not accepted:\n%s", out)
	}
}
