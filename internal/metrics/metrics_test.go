package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/delivery"
	"mailhouse/internal/message"
	"mailhouse/internal/metrics"
	"mailhouse/internal/netx"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// rig is a real SMTP server and the metrics endpoint, wired as the app
// wires them: the deliverer and authenticator report to the metrics, and
// the SMTP listener is counted under its connection limit.
type rig struct {
	stack   *testenv.Stack
	m       *metrics.Metrics
	auth    *auth.Authenticator
	smtp    string // address
	metrics string // base URL
}

func newRig(t *testing.T) *rig {
	t.Helper()
	stack := testenv.NewStack(t, "alice")
	m := metrics.New(metrics.Options{Store: stack.Store, Version: "test"})
	d := delivery.New(delivery.Options{
		Store: stack.Store, Resolver: stack.Resolver, Observe: m.ObserveDelivery,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	a := auth.New(auth.Options{Dir: stack.Store, Params: testenv.FastParams, FailuresPerIP: 3, Observe: m.ObserveLogin})
	srv := smtpd.New(smtpd.Options{Hostname: testenv.Hostname, TLS: stack.ServerTLS, Deliverer: d, Resolver: stack.Resolver, Auth: a})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := netx.LimitListener(m.Listener("smtp", raw), netx.Limits{PerIP: 2, Total: 10}, m.Busy("smtp", smtpd.Busy))
	go srv.ServeMX(ln)
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go m.Serve(mln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = m.Shutdown(ctx)
	})
	return &rig{stack: stack, m: m, auth: a, smtp: raw.Addr().String(), metrics: "http://" + mln.Addr().String()}
}

// scrape fetches /metrics and returns every sample by its name with
// labels, as written ("name{a=\"b\"}").
func (r *rig) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(r.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// sendMail sends one message with swaks, a real SMTP client.
func sendMail(t *testing.T, addr, to string, n int) {
	t.Helper()
	bin := testutil.NeedTool(t, "swaks")
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(bin, "--server", host, "--port", port, "--to", to, "--from", "sender@remote.test",
		"--helo", "remote.test", "--header", fmt.Sprintf("Subject: metrics %d", n), "--body", "hello").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
}

func TestMetricsMoveWhenMailFlows(t *testing.T) {
	r := newRig(t)
	before := r.scrape(t)
	for _, name := range []string{
		`mailhouse_messages_delivered_total{op="deliver"}`, `mailhouse_auth_logins_total{result="failure"}`,
		`mailhouse_queue_messages`, `mailhouse_queue_oldest_age_seconds`, `mailhouse_account_messages{account="alice@example.test"}`,
		`mailhouse_build_info{go="` + goVersion() + `",version="test"}`,
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s before any mail", name)
		}
	}
	for i := range 3 {
		sendMail(t, r.smtp, "alice@example.test", i)
	}
	// Failed logins: the third blocks the address, the fourth is throttled.
	ip := netip.MustParseAddr("192.0.2.7")
	for range 4 {
		_, _ = r.auth.Login(t.Context(), "alice@example.test", "wrong", ip)
	}
	if _, err := r.auth.Login(t.Context(), "alice@example.test", testenv.Password, netip.MustParseAddr("192.0.2.8")); err != nil {
		t.Fatal(err)
	}
	q := r.stack.Store.(store.Queue)
	if _, err := q.QueueAdd(t.Context(), store.NewQueueEntry{From: "alice@example.test", To: []string{"x@far.test"}, Data: []byte("Subject: q\r\n\r\nq\r\n")}); err != nil {
		t.Fatal(err)
	}
	after := r.scrape(t)

	delta := func(name string) float64 { return after[name] - before[name] }
	checks := []struct {
		name string
		want float64
	}{
		{`mailhouse_messages_delivered_total{op="deliver"}`, 3},
		{`mailhouse_delivery_duration_seconds_count{op="deliver"}`, 3},
		{`mailhouse_connections_total{service="smtp"}`, 3},
		{`mailhouse_account_messages{account="alice@example.test"}`, 3},
		{`mailhouse_auth_logins_total{result="failure"}`, 3},
		{`mailhouse_auth_logins_total{result="throttled"}`, 1},
		{`mailhouse_auth_logins_total{result="success"}`, 1},
		{`mailhouse_auth_blocks_total{kind="ip"}`, 1},
		{`mailhouse_queue_messages`, 1},
	}
	for _, c := range checks {
		if got := delta(c.name); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.name, got, c.want)
		}
	}
	if after[`mailhouse_account_storage_bytes{account="alice@example.test"}`] <= 0 || after[`mailhouse_storage_bytes`] <= 0 {
		t.Error("storage did not grow")
	}
	if after[`mailhouse_connections_active{service="smtp"}`] != 0 {
		t.Errorf("connections still counted open: %v", after[`mailhouse_connections_active{service="smtp"}`])
	}
	if after[`mailhouse_store_stats_up`] != 1 || after[`mailhouse_store_file_bytes`] <= 0 {
		t.Error("store figures missing")
	}
}

func goVersion() string {
	return runtime.Version()
}

// TestRejectedConnectionsCounted crosses the SMTP listener's per-IP
// limit: the refused connection gets the busy reply and is counted.
func TestRejectedConnectionsCounted(t *testing.T) {
	r := newRig(t)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.smtp)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		br := bufio.NewReader(c)
		if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "220") {
			t.Fatalf("greeting %q", line)
		}
	}
	c, err := net.Dial("tcp", r.smtp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if !strings.HasPrefix(string(b), "421") {
		t.Errorf("over the limit: %q", b)
	}
	s := r.scrape(t)
	if s[`mailhouse_connections_active{service="smtp"}`] != 2 {
		t.Errorf("active = %v, want 2", s[`mailhouse_connections_active{service="smtp"}`])
	}
	found := false
	for k, v := range s {
		if strings.HasPrefix(k, `mailhouse_connections_rejected_total{reason="too many connections from your address",service="smtp"}`) && v == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("rejected connection not counted")
	}
	for _, c := range held {
		c.Close()
	}
}

func TestHealthz(t *testing.T) {
	r := newRig(t)
	get := func() (int, string) {
		resp, err := http.Get(r.metrics + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	r.stack.Store.Close()
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("healthz with the store closed: %d", code)
	}
	// The store collector reports it is down instead of failing the scrape.
	if s := r.scrape(t); s[`mailhouse_store_stats_up`] != 0 {
		t.Errorf("store_stats_up = %v", s[`mailhouse_store_stats_up`])
	}
	resp, err := http.Post(r.metrics+"/metrics", "text/plain", nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics: %s", resp.Status)
		}
	}
}

// TestAccountSeriesBound crosses MaxAccountSeries: per-account series
// go, the totals stay.
func TestAccountSeriesBound(t *testing.T) {
	stack := testenv.NewStack(t, "alice", "bob")
	m := metrics.New(metrics.Options{Store: stack.Store, MaxAccountSeries: 1})
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, mf := range mfs {
		names[mf.GetName()] = len(mf.GetMetric())
	}
	if names["mailhouse_account_storage_bytes"] != 0 || names["mailhouse_storage_bytes"] != 1 || names["mailhouse_accounts"] != 1 {
		t.Errorf("series: %v", names)
	}
	m = metrics.New(metrics.Options{Store: stack.Store})
	mfs, _ = m.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "mailhouse_account_storage_bytes" && len(mf.GetMetric()) != 2 {
			t.Errorf("%d account series, want 2", len(mf.GetMetric()))
		}
	}
}
