package webmail_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestLoginLogout: the login page, a wrong password, a right one (with a
// secure session cookie), the INBOX, then logging out ends the session.
func TestLoginLogout(t *testing.T) {
	e := start(t)
	c := e.client(t)
	r := c.get("/mail/")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/mail/login?next=") {
		t.Fatalf("not logged in: %d %s", r.status, r.location())
	}
	r = c.follow(r)
	if r.status != 200 || !strings.Contains(r.body, `id="login-form"`) {
		t.Fatalf("login page: %d\n%s", r.status, r.body)
	}
	r = c.post("/mail/login", url.Values{"username": {"alice@example.test"}, "password": {"wrong"}}, false)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email address or password") {
		t.Fatalf("wrong password: %d\n%s", r.status, r.body)
	}
	r = c.post("/mail/login", url.Values{"username": {"Alice@Example.TEST"}, "password": {testenv.Password}, "next": {"/mail/settings"}}, false)
	if r.status != http.StatusSeeOther || r.location() != "/mail/settings" {
		t.Fatalf("login: %d %q", r.status, r.location())
	}
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-mh_webmail=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	r = c.follow(r)
	if r.status != 200 || !strings.Contains(r.body, "alice@example.test") {
		t.Fatalf("settings after login: %d", r.status)
	}
	r = c.get("/mail/")
	r = c.follow(r)
	if r.status != 200 || !strings.Contains(r.body, "<h1>Inbox</h1>") {
		t.Fatalf("inbox: %d\n%s", r.status, r.body)
	}
	r = c.post("/mail/logout", nil, true)
	if r.status != http.StatusSeeOther || r.location() != "/mail/login?out=1" {
		t.Fatalf("logout: %d %s", r.status, r.location())
	}
	if r = c.follow(r); !strings.Contains(r.body, "You have logged out") {
		t.Errorf("after logout:\n%s", r.body)
	}
	if r = c.get("/mail/settings"); r.status != http.StatusSeeOther {
		t.Errorf("after logout the session still works: %d", r.status)
	}
}

// TestLoginNextStaysLocal: the post-login destination must be one of our
// paths.
func TestLoginNextStaysLocal(t *testing.T) {
	e := start(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/mail/", "/mail/\\evil", "/other"} {
		c := e.client(t)
		r := c.post("/mail/login", url.Values{"username": {"alice@example.test"}, "password": {testenv.Password}, "next": {next}}, false)
		if r.location() != "/mail/" {
			t.Errorf("next %q: redirected to %q", next, r.location())
		}
	}
}

// TestLoginThrottled: the same throttle as IMAP and SMTP: after ten
// failures from one address, even the right password is refused.
func TestLoginThrottled(t *testing.T) {
	e := start(t)
	c := e.client(t)
	for i := 0; i < 10; i++ {
		c.post("/mail/login", url.Values{"username": {"alice@example.test"}, "password": {"nope"}}, false)
	}
	r := c.post("/mail/login", url.Values{"username": {"alice@example.test"}, "password": {testenv.Password}}, false)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins") {
		t.Fatalf("after 10 failures: %d\n%s", r.status, r.body)
	}
}

// TestLoginCrossOriginRefused: a login form posted from another site is
// refused.
func TestLoginCrossOriginRefused(t *testing.T) {
	e := start(t)
	c := e.client(t)
	req, _ := http.NewRequest("POST", e.base+"/mail/login", strings.NewReader(url.Values{"username": {"alice@example.test"}, "password": {testenv.Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r := c.do(req); r.status != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d", r.status)
	}
}

// TestCSRFMissingRefused: a form post without the session's token (or
// with a wrong one, or from another origin) changes nothing.
func TestCSRFMissingRefused(t *testing.T) {
	e := start(t)
	d := deliver(t, e.st, "alice@example.test", simple("bob@elsewhere.example", "alice@example.test", "csrf test", "hello"))
	c := e.login(t, "alice")
	path := folderPath(t, e.st, "alice@example.test", "INBOX")
	for name, form := range map[string]url.Values{
		"missing": {"uid": {itoa(int64(d.UID))}, "action": {"flag"}},
		"wrong":   {"uid": {itoa(int64(d.UID))}, "action": {"flag"}, "csrf": {"AAAA"}},
	} {
		r := c.post(path, form, false)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "did not come from this webmail") {
			t.Errorf("%s token: %d\n%s", name, r.status, r.body)
		}
	}
	// Right token, but posted from another site.
	form := url.Values{"uid": {itoa(int64(d.UID))}, "action": {"flag"}, "csrf": {c.csrf}}
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r := c.do(req); r.status != http.StatusForbidden {
		t.Errorf("cross-origin post: %d", r.status)
	}
	// Logging out needs the token too.
	if r := c.post("/mail/logout", nil, false); r.status != http.StatusForbidden {
		t.Errorf("logout without token: %d", r.status)
	}
	if m := messages(t, e.st, "alice@example.test", "INBOX"); has(m[0].Flags, `\Flagged`) {
		t.Fatal("a refused post flagged the message")
	}
	// With the token it works.
	if r := c.post(path, url.Values{"uid": {itoa(int64(d.UID))}, "action": {"flag"}}, true); r.status != http.StatusSeeOther {
		t.Fatalf("with token: %d", r.status)
	}
	if m := messages(t, e.st, "alice@example.test", "INBOX"); !has(m[0].Flags, `\Flagged`) {
		t.Fatal("the post with a token did not flag the message")
	}
}

// TestSessionIdleExpiry: a session unused for longer than its idle time
// ends; the live-update stream alone does not keep it alive.
func TestSessionIdleExpiry(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	e.clk.add(20 * time.Minute)
	if r := c.get("/mail/settings"); r.status != 200 {
		t.Fatalf("after 20 minutes: %d", r.status)
	}
	e.clk.add(31 * time.Minute)
	r := c.get("/mail/settings")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/mail/login") {
		t.Fatalf("after 31 idle minutes: %d %s", r.status, r.location())
	}
	// Page refreshes made by live updates do not count as activity.
	c = e.login(t, "alice")
	for i := 0; i < 4; i++ {
		e.clk.add(10 * time.Minute)
		req, _ := http.NewRequest("GET", e.base+"/mail/settings", nil)
		req.Header.Set("X-Mailhouse-Refresh", "1")
		if r = c.do(req); r.status != 200 && i < 2 {
			t.Fatalf("live refresh after %d0 minutes: %d", i+1, r.status)
		}
	}
	if r = c.get("/mail/settings"); r.status != http.StatusSeeOther {
		t.Fatalf("40 minutes of live refreshes kept the session alive: %d", r.status)
	}
}

// TestSecurityHeaders: pages allow only our own script; nothing frames
// them.
func TestSecurityHeaders(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	r := c.get("/mail/settings")
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", r.header)
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, " onclick=") {
		t.Error("a page has inline script or style, which the CSP blocks")
	}
	s := c.get("/mail/static/app.js")
	if s.status != 200 || !strings.HasPrefix(s.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js: %d %s", s.status, s.header.Get("Content-Type"))
	}
}

// TestDisabledAccountLoggedOut: when an admin disables an account, its
// open webmail session ends at its next request.
func TestDisabledAccountLoggedOut(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	adm, ok := e.st.Store.(store.Admin)
	if !ok {
		t.Skip("the store keeps no account flags")
	}
	if err := adm.SetDisabled(context.Background(), "alice@example.test", true); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/mail/settings"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/mail/login") {
		t.Fatalf("disabled account: %d %s", r.status, r.location())
	}
	r := c.post("/mail/login", url.Values{"username": {"alice@example.test"}, "password": {testenv.Password}}, false)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("disabled account logs in: %d", r.status)
	}
}
