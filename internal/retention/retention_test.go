package retention_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/retention"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

const alice = "alice@" + testenv.Domain

func msg(subject string) []byte {
	return []byte("From: bob@example.test\r\nSubject: " + subject + "\r\n\r\nbody\r\n")
}

// TestTrashExpiry: with Trash kept 1 day, a message dated 2 days ago is
// expunged and one from today kept, and a client IDLE on Trash sees the
// EXPUNGE.
func TestTrashExpiry(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	ctx := context.Background()
	trash := st.Mailbox(t, alice, "Trash")
	old, err := st.Deliverer.Append(ctx, trash.ID, nil, time.Now().Add(-48*time.Hour), msg("old"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deliverer.Append(ctx, trash.ID, nil, time.Now(), msg("new")); err != nil {
		t.Fatal(err)
	}
	inbox := st.Mailbox(t, alice, "INBOX")
	if _, err := st.Deliverer.Append(ctx, inbox.ID, nil, time.Now().Add(-48*time.Hour), msg("inbox")); err != nil {
		t.Fatal(err)
	}

	idle := startIdle(t, st, "Trash")
	job := retention.New(retention.Options{Store: st.Store, Defaults: map[string]int{"trash": 1}, Logger: st.Logger})
	rep, err := job.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expunged != 1 {
		t.Fatalf("run removed %d messages, want 1", rep.Expunged)
	}
	idle.want(t, "* 1 EXPUNGE")

	metas, err := st.Store.ListMessages(ctx, trash.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || metas[0].UID == old.UID {
		t.Fatalf("Trash holds %+v, want only the new message", metas)
	}
	if ms, _ := st.Store.ListMessages(ctx, inbox.ID); len(ms) != 1 {
		t.Fatalf("INBOX (no policy) lost its message")
	}
	days, err := job.Days(ctx, store.Account{}, trash)
	if err != nil || days != 1 {
		t.Fatalf("Days(Trash) = %d, %v; want 1", days, err)
	}
}

// TestRuleOrder: an account rule beats a domain rule, which beats the
// server's; a stored rule with no match leaves the config default.
func TestRuleOrder(t *testing.T) {
	st := testenv.NewStack(t, "alice", "bob")
	ctx := context.Background()
	lim := st.Store.(store.Limits)
	for _, r := range []store.RetentionRule{
		{Folder: "INBOX", Days: 90},
		{Domain: testenv.Domain, Folder: "INBOX", Days: 60},
		{Domain: testenv.Domain, Account: alice, Folder: "INBOX", Days: 7},
	} {
		if err := lim.SetRetention(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	job := retention.New(retention.Options{Store: st.Store, Defaults: map[string]int{"junk": 30}})
	a, _ := st.Store.GetAccount(ctx, alice)
	b, _ := st.Store.GetAccount(ctx, "bob@"+testenv.Domain)
	other := store.Account{Address: "carol@other.test", Domain: "other.test"}
	for _, c := range []struct {
		acct store.Account
		mb   store.Mailbox
		want int
	}{
		{a, st.Mailbox(t, alice, "INBOX"), 7},
		{b, st.Mailbox(t, "bob@"+testenv.Domain, "INBOX"), 60},
		{other, store.Mailbox{Name: "INBOX"}, 90},
		{a, st.Mailbox(t, alice, "Junk"), 30},
		{a, st.Mailbox(t, alice, "Sent"), 0},
	} {
		got, err := job.Days(ctx, c.acct, c.mb)
		if err != nil || got != c.want {
			t.Errorf("%s %s: %d days (%v), want %d", c.acct.Address, c.mb.Name, got, err, c.want)
		}
	}
}

// TestBatches: a run removes more than one batch, in batches.
func TestBatches(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	ctx := context.Background()
	junk := st.Mailbox(t, alice, "Junk")
	for i := range 25 {
		if _, err := st.Deliverer.Append(ctx, junk.ID, nil, time.Now().Add(-40*24*time.Hour), msg(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	job := retention.New(retention.Options{Store: st.Store, Defaults: config.Retention{}.Folders, Batch: 10})
	if rep, _ := job.RunOnce(ctx); rep.Expunged != 0 {
		t.Fatalf("nil defaults removed %d", rep.Expunged)
	}
	job = retention.New(retention.Options{Store: st.Store, Defaults: map[string]int{`\Junk`: 30}, Batch: 10})
	job.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, _ := st.Store.ListMessages(ctx, junk.ID)
		if len(ms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left", len(ms))
		}
		time.Sleep(20 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := job.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

// idleClient is an IMAP session in IDLE, spoken byte by byte.
type idleClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func startIdle(t *testing.T, st *testenv.Stack, mailbox string) *idleClient {
	t.Helper()
	srv := imapd.New(imapd.Options{
		Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: st.Auth,
		Deliverer: st.Deliverer, Logger: st.Logger,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	conn, err := tls.Dial("tcp", ln.Addr().String(), st.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &idleClient{conn: conn, r: bufio.NewReader(conn)}
	c.want(t, "* OK")
	fmt.Fprintf(conn, "a LOGIN %s \"%s\"\r\n", alice, testenv.Password)
	c.want(t, "a OK")
	fmt.Fprintf(conn, "b SELECT %s\r\n", mailbox)
	c.want(t, "b OK")
	fmt.Fprintf(conn, "c IDLE\r\n")
	c.want(t, "+ ")
	return c
}

// want reads lines until one starts with prefix.
func (c *idleClient) want(t *testing.T, prefix string) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", prefix, err, seen)
		}
		if strings.HasPrefix(line, prefix) {
			return
		}
		seen = append(seen, line)
	}
}

// storeWithoutLimits hides the store's store.Limits, as a store that
// keeps no retention index would.
type storeWithoutLimits struct{ store.Store }

// Without store.Limits the job still expires messages, reading the
// mailbox's metadata instead of the index.
func TestWithoutLimitsIndex(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	ctx := context.Background()
	junk := st.Mailbox(t, alice, "Junk")
	for i := range 12 {
		age := 40 * 24 * time.Hour
		if i%3 == 0 {
			age = time.Hour
		}
		if _, err := st.Deliverer.Append(ctx, junk.ID, nil, time.Now().Add(-age), msg(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	job := retention.New(retention.Options{Store: storeWithoutLimits{st.Store}, Defaults: map[string]int{"junk": 30}, Batch: 5})
	rep, err := job.RunOnce(ctx)
	if err != nil || rep.Expunged != 8 {
		t.Fatalf("expunged %d, %v; want the 8 old messages", rep.Expunged, err)
	}
	if ms, _ := st.Store.ListMessages(ctx, junk.ID); len(ms) != 4 {
		t.Fatalf("%d messages left, want the 4 recent ones", len(ms))
	}
}
