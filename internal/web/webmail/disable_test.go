package webmail_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// TestDisableEndsStream: when alice's account is disabled, the check of
// the session registry (what auth's poll runs every few seconds) ends
// her live-update stream with a logout event, and her next page request
// goes to the login form.
func TestDisableEndsStream(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	req, _ := http.NewRequest("GET", e.base+"/mail/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("events: %d", res.StatusCode)
	}
	got := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	ctx := context.Background()
	acct, _ := e.st.Store.GetAccount(ctx, "alice@example.test")
	deadline := time.Now().Add(15 * time.Second)
	for e.st.Auth.Sessions(acct.ID) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the stream registers after its first write
	}
	if err := e.st.Store.(store.Admin).SetDisabled(ctx, "alice@example.test", true); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Auth.CheckSessions(ctx); err != nil {
		t.Fatal(err)
	}
	var lines []string
	timeout := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case l, ok := <-got:
			if !ok {
				done = true
				break
			}
			lines = append(lines, l)
		case <-timeout:
			t.Fatalf("stream still open after the disable; got %q", lines)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "event: logout\ndata: disabled") {
		t.Errorf("stream ended without a logout event: %q", lines)
	}
	r := c.get("/mail/")
	if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "/mail/login") {
		t.Errorf("page after the disable: %d %s", r.status, r.location())
	}
}
