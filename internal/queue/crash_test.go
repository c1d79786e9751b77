package queue_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailhouse/internal/auth"
	"mailhouse/internal/config"
	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/netx"
	"mailhouse/internal/queue"
	"mailhouse/internal/smtpclient"
	"mailhouse/internal/smtpd"
	"mailhouse/internal/store"
	"mailhouse/internal/store/sqlstore"
	"mailhouse/internal/testenv"
)

// The sending server is killed with SIGKILL while its worker is in the
// middle of an attempt (the next hop accepted the connection and never
// greets) with three messages queued. Started again on the same data,
// it takes back its leases and delivers each message exactly once.
func TestSIGKILLLosesNothing(t *testing.T) {
	if os.Getenv("MH_QUEUE_HELPER") != "" {
		t.Skip("helper process")
	}
	b := newSite(t, "b.test", siteOptions{cfg: fastConfig}, "bob")
	// A next hop that accepts and says nothing: the attempt hangs there.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	var held atomic.Int32
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			held.Add(1)
			defer c.Close()
		}
	}()

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSender$", "-test.v")
	cmd.Env = append(os.Environ(), "MH_QUEUE_HELPER="+dir, "MH_QUEUE_ROUTE="+hole.Addr().String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sub := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			sub = a
			break
		}
	}
	if sub == "" {
		t.Fatal("helper did not start")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	a := &site{sub: sub}
	for i := range 3 {
		a.submit(t, "alice@a.test", []string{"bob@b.test"}, []string{fmt.Sprintf("Subject: survivor %d", i)}, "Queued before the crash.")
	}
	deadline := time.Now().Add(10 * time.Second)
	for held.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sender never tried the next hop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the other messages join the attempt
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Restart on the same data, now routed to b.
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Options{Path: filepath.Join(dir, "mailhouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.QueueList(ctx)
	if err != nil || len(es) != 3 {
		t.Fatalf("after the crash the queue holds %d entries (%v), want 3", len(es), err)
	}
	leased := 0
	for _, e := range es {
		if e.LeaseOwner != "" {
			leased++
		}
	}
	if leased == 0 {
		t.Fatal("no entry was leased at the crash: the test did not catch a worker mid-attempt")
	}
	res := &directory.Resolver{Dir: st}
	q := queue.New(queue.Options{
		Store:  st,
		Dialer: smtpclient.New(smtpclient.Options{Hostname: "mx.a.test", Routes: map[string]string{"b.test": b.mx}, Resolver: stubResolver()}),
		Local:  delivery.New(delivery.Options{Store: st, Resolver: res}), Resolver: res,
		Hostname: "mx.a.test", Config: fastConfig,
	})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = q.Shutdown(sctx)
	}()
	msgs := b.waitMailbox(t, "bob@b.test", "INBOX", 3, 15*time.Second)
	for i := range 3 {
		n := 0
		for _, m := range msgs {
			if strings.Contains(m, fmt.Sprintf("Subject: survivor %d", i)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("message %d delivered %d times", i, n)
		}
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		es, _ := st.QueueList(ctx)
		if len(es) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty: %+v", es)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stubResolver() *net.Resolver { return &net.Resolver{PreferGo: true, Dial: refuseDial} }

func refuseDial(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, fmt.Errorf("no DNS in this test")
}

// TestHelperSender is the process TestSIGKILLLosesNothing kills: a.test's
// store, submission service and queue, routed to a next hop that hangs.
func TestHelperSender(t *testing.T) {
	dir := os.Getenv("MH_QUEUE_HELPER")
	if dir == "" {
		t.Skip("run by TestSIGKILLLosesNothing")
	}
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlstore.Open(ctx, sqlstore.Options{Path: filepath.Join(dir, "mailhouse.db")})
	if err != nil {
		t.Fatal(err)
	}
	res := &directory.Resolver{Dir: st}
	au := auth.New(auth.Options{Dir: st, Params: testenv.FastParams})
	if _, err := st.AddDomain(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	h, _ := au.HashPassword(testenv.Password)
	if _, err := st.AddAccount(ctx, store.NewAccount{Address: "alice@a.test", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := netx.GenerateSelfSigned("localhost", cert, key); err != nil {
		t.Fatal(err)
	}
	cs, err := netx.LoadCert(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig
	cfg.Lease = time.Hour // only the restart's QueueRelease can free them
	q := queue.New(queue.Options{
		Store: st,
		Dialer: smtpclient.New(smtpclient.Options{Hostname: "mx.a.test", Resolver: stubResolver(),
			Routes: map[string]string{"b.test": os.Getenv("MH_QUEUE_ROUTE")}, CommandTimeout: time.Hour}),
		Local: delivery.New(delivery.Options{Store: st, Resolver: res}), Resolver: res,
		Hostname: "mx.a.test", Config: cfg, Logger: log,
	})
	d := delivery.New(delivery.Options{Store: st, Resolver: res, Queue: q})
	srv := smtpd.New(smtpd.Options{Hostname: "mx.a.test", TLS: cs.TLSConfig(), Deliverer: d, Resolver: res, Auth: au, Outbound: true,
		Config: config.SMTP{CommandTimeout: config.Duration{Duration: 10 * time.Second}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("READY %s\n", ln.Addr())
	_ = srv.ServeSubmission(ln) // until killed
}
