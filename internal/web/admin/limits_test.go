package admin_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/retention"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin"
)

// TestBlocksPage: an address blocked for guessing passwords is listed;
// lifting it needs the form's CSRF token, is audited, and lets the
// address log in again.
func TestBlocksPage(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	guesser := netip.MustParseAddr("192.0.2.7")
	for i := 0; i < 10; i++ {
		e.st.Auth.Login(ctx, "bob@example.test", "wrong", guesser)
	}
	if !e.st.Auth.IPBlocked(ctx, guesser) {
		t.Fatal("no block after 10 failures")
	}
	b := e.browserish(t)
	b.login("alice@example.test")
	resp, body := b.do("GET", "/admin/limits", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "192.0.2.7") || !strings.Contains(body, "<td>address</td>") {
		t.Fatalf("blocks page: %d\n%s", resp.StatusCode, body)
	}
	// Without the token: refused, the block stays.
	resp, _ = b.do("POST", "/admin/limits/blocks/clear", url.Values{"key": {"ip:192.0.2.7"}})
	if resp.StatusCode != http.StatusForbidden || !e.st.Auth.IPBlocked(ctx, guesser) {
		t.Fatalf("clear without CSRF: %d, blocked %v", resp.StatusCode, e.st.Auth.IPBlocked(ctx, guesser))
	}
	resp, _ = b.do("POST", "/admin/limits/blocks/clear", url.Values{"key": {"ip:192.0.2.7"}, "csrf": {b.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear: %d", resp.StatusCode)
	}
	if e.st.Auth.IPBlocked(ctx, guesser) {
		t.Fatal("still blocked after the console lifted it")
	}
	if _, err := e.st.Auth.Login(ctx, "bob@example.test", testenv.Password, guesser); err != nil {
		t.Fatalf("login after the lift: %v", err)
	}
	_, body = b.do("GET", "/admin/limits", nil)
	if !strings.Contains(body, "Block lifted.") || !strings.Contains(body, "No blocks in force.") {
		t.Errorf("page after the lift:\n%s", body)
	}
	// Lifting again: nothing to lift, said plainly.
	b.do("POST", "/admin/limits/blocks/clear", url.Values{"key": {"ip:192.0.2.7"}, "csrf": {b.csrf}})
	if _, body = b.do("GET", "/admin/limits", nil); !strings.Contains(body, "No such block in force") {
		t.Errorf("second lift:\n%s", body)
	}
	es, _ := e.st.Store.(store.Admin).ListAudit(ctx, 0, 10)
	if len(es) == 0 || es[0].Action != "block.clear" || es[0].Target != "ip:192.0.2.7" || es[0].Actor != "admin:alice@example.test" {
		t.Errorf("audit: %+v", es)
	}
}

// TestDomainQuotaPage: the domain page shows the total quota and use, and
// its form sets the quota (CSRF-checked, audited).
func TestDomainQuotaPage(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	b := e.browserish(t)
	b.login("alice@example.test")
	_, body := b.do("GET", "/admin/domains/example.test", nil)
	if !strings.Contains(body, "Total quota: unlimited") {
		t.Fatalf("domain page:\n%s", body)
	}
	resp, _ := b.do("POST", "/admin/domains/example.test/quota", url.Values{"quota": {"2G"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("set without CSRF: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/admin/domains/example.test/quota", url.Values{"quota": {"2G"}, "csrf": {b.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set: %d", resp.StatusCode)
	}
	limit, _, err := e.st.Store.(store.Limits).DomainQuota(ctx, "example.test")
	if err != nil || limit != 2<<30 {
		t.Fatalf("domain quota in the store: %d %v", limit, err)
	}
	_, body = b.do("GET", "/admin/domains/example.test", nil)
	if !strings.Contains(body, "Total quota: 2 GiB") || !strings.Contains(body, "Domain quota set.") {
		t.Errorf("domain page after the set:\n%s", body)
	}
	b.do("POST", "/admin/domains/example.test/quota", url.Values{"quota": {"lots"}, "csrf": {b.csrf}})
	if _, body = b.do("GET", "/admin/domains/example.test", nil); !strings.Contains(body, `class="flash err"`) {
		t.Errorf("a bad size was not refused:\n%s", body)
	}
	if limit, _, _ := e.st.Store.(store.Limits).DomainQuota(ctx, "example.test"); limit != 2<<30 {
		t.Errorf("a bad size changed the quota to %d", limit)
	}
	es, _ := e.st.Store.(store.Admin).ListAudit(ctx, 0, 1)
	if len(es) == 0 || es[0].Action != "domain.quota" || es[0].Target != "example.test" {
		t.Errorf("audit: %+v", es)
	}
}

// TestRetentionShown: the account page shows the folders that expire
// for that account (retention.Job.Policy: the server default and a
// domain rule), and the blocks page lists the stored rules.
func TestRetentionShown(t *testing.T) {
	var job *retention.Job
	e := startWith(t, func(o *admin.Options) {
		job = retention.New(retention.Options{Store: o.Store, Defaults: map[string]int{"trash": 30}, Interval: time.Hour})
		o.Retention = job
	})
	ctx := context.Background()
	if err := e.st.Store.(store.Limits).SetRetention(ctx, store.RetentionRule{Domain: "example.test", Folder: "INBOX", Days: 365}); err != nil {
		t.Fatal(err)
	}
	b := e.browserish(t)
	b.login("alice@example.test")
	_, body := b.do("GET", "/admin/accounts/bob@example.test", nil)
	if !strings.Contains(body, `id="retention"`) || !strings.Contains(body, "<td>INBOX</td><td>365 day(s)</td>") || !strings.Contains(body, "<td>Trash</td><td>30 day(s)</td>") {
		t.Errorf("account page:\n%s", body)
	}
	_, body = b.do("GET", "/admin/limits", nil)
	if !strings.Contains(body, "<td>example.test</td><td>INBOX</td><td>365</td>") {
		t.Errorf("limits page:\n%s", body)
	}
}

// TestDisableEndsMailSessions: disabling an account in the console ends
// its mail sessions at once (through auth's session registry).
func TestDisableEndsMailSessions(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	bob, _ := e.st.Store.GetAccount(ctx, "bob@example.test")
	alice, _ := e.st.Store.GetAccount(ctx, "alice@example.test")
	ended := make(chan string, 2)
	e.st.Auth.Track(bob, func() { ended <- "bob" })
	e.st.Auth.Track(alice, func() { ended <- "alice" })
	b := e.browserish(t)
	b.login("alice@example.test")
	b.do("GET", "/admin/accounts/bob@example.test", nil)
	resp, _ := b.do("POST", "/admin/accounts/bob@example.test/disable", url.Values{"csrf": {b.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	select {
	case who := <-ended:
		if who != "bob" {
			t.Fatalf("%s's session was ended", who)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob's session was not ended")
	}
	// A password change alone ends no mail session.
	b.do("POST", "/admin/accounts/alice@example.test/password", url.Values{"csrf": {b.csrf}, "password": {"another long password 1"}})
	select {
	case who := <-ended:
		t.Fatalf("%s's session ended by a password change", who)
	case <-time.After(100 * time.Millisecond):
	}
}
