package webmail_test

import (
	"bufio"
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestSettingsQuotaAndPassword: the quota is shown; changing the password
// needs the current one, logs out other browsers, and the new password
// is the one that works.
func TestSettingsQuotaAndPassword(t *testing.T) {
	e := start(t)
	if err := e.st.Store.SetQuota(context.Background(), "alice@example.test", 10<<20); err != nil {
		t.Fatal(err)
	}
	deliver(t, e.st, "alice@example.test", simple("x@elsewhere.example", "alice@example.test", "some mail", strings.Repeat("words ", 20000)))
	c := e.login(t, "alice")
	other := e.login(t, "alice")
	r := c.get("/mail/settings")
	if !strings.Contains(r.body, "of 10.0 MB used (1%)") || !strings.Contains(r.body, `id="quota-meter"`) {
		t.Errorf("quota:\n%s", r.body)
	}
	for name, tc := range map[string]struct {
		cur, nw, again, want string
	}{
		"wrong current": {"nope", "a new long password", "a new long password", "The current password is wrong."},
		"too short":     {testenv.Password, "short", "short", "The new password is too short."},
		"mismatch":      {testenv.Password, "a new long password", "another long password", "The two new passwords differ."},
	} {
		r = c.post("/mail/settings/password", url.Values{"current": {tc.cur}, "new": {tc.nw}, "again": {tc.again}}, true)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d", name, r.status)
		}
	}
	r = c.post("/mail/settings/password", url.Values{"current": {testenv.Password}, "new": {"a new long password"}, "again": {"a new long password"}}, true)
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", r.status, r.body)
	}
	if r = c.follow(r); r.status != 200 || !strings.Contains(r.body, "Your password is changed") {
		t.Errorf("this browser after the change: %d", r.status)
	}
	if r = other.get("/mail/settings"); r.status != http.StatusSeeOther {
		t.Errorf("the other browser is still logged in: %d", r.status)
	}
	if _, err := e.st.Auth.Login(context.Background(), "alice@example.test", "a new long password", netip.MustParseAddr("192.0.2.9")); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	if _, err := e.st.Auth.Login(context.Background(), "alice@example.test", testenv.Password, netip.MustParseAddr("192.0.2.9")); err == nil {
		t.Error("the old password still works")
	}
	if adm, ok := e.st.Store.(store.Admin); ok {
		l, _ := adm.ListAudit(context.Background(), 0, 10)
		if len(l) == 0 || l[0].Action != "account.password" || l[0].Actor != "webmail:alice@example.test" {
			t.Errorf("audit: %v", l)
		}
	}
}

// TestLiveUpdates: the event stream reports a delivery to the INBOX.
func TestLiveUpdates(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	req, _ := http.NewRequest("GET", e.base+"/mail/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	got := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	inbox := e.st.Mailbox(t, "alice@example.test", "INBOX")
	deliver(t, e.st, "alice@example.test", simple("x@elsewhere.example", "alice@example.test", "live", "hi"))
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-got:
			if !ok {
				t.Fatal("stream ended")
			}
			if line == "data: "+itoa(int64(inbox.ID)) {
				return
			}
		case <-deadline:
			t.Fatal("no event for the delivery")
		}
	}
}

// TestLiveUpdatesLimit: one account has at most 8 streams; the next is
// told not to reconnect (204), and the webmail's Close ends the others.
func TestLiveUpdatesLimit(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	var bodies []*http.Response
	for i := 0; i < 9; i++ {
		req, _ := http.NewRequest("GET", e.base+"/mail/events", nil)
		res, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if i < 8 && res.StatusCode != 200 || i == 8 && res.StatusCode != http.StatusNoContent {
			t.Errorf("stream %d: %d", i+1, res.StatusCode)
		}
		bodies = append(bodies, res)
	}
	e.wm.Close()
	for _, b := range bodies {
		done := make(chan struct{})
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := b.Body.Read(buf); err != nil {
					close(done)
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("Close left a stream open")
		}
		b.Body.Close()
	}
}

// An account without a quota of its own is shown the server's default,
// the limit delivery enforces.
func TestSettingsShowDefaultQuota(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	st.Deliverer = delivery.New(delivery.Options{
		Store: st.Store, Resolver: st.Resolver, DefaultQuota: 20 << 20,
		Analyze: func(b []byte) []byte { return message.Parse(b).Marshal() },
	})
	e := serve(t, st, envOptions{})
	c := e.login(t, "alice")
	if r := c.get("/mail/settings"); !strings.Contains(r.body, "of 20.0 MB used") {
		t.Errorf("default quota not shown:\n%s", r.body)
	}
}
