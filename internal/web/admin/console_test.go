package admin_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"mailhouse/internal/auth"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/web"
	"mailhouse/internal/web/admin/ops"
)

// browserish posts forms the way a browser does (Origin of the page).
type browserish struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browserish(t *testing.T) *browserish { return &browserish{t: t, e: e, c: e.client()} }

func (b *browserish) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.e.base)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(data)); m != nil {
		b.csrf = m[1]
	}
	return resp, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browserish) login(user string) *http.Response {
	b.t.Helper()
	resp, _ := b.do("POST", "/admin/login", url.Values{"username": {user}, "password": {testenv.Password}})
	if resp.StatusCode == http.StatusSeeOther {
		b.do("GET", "/admin/", nil) // picks up the CSRF token
	}
	return resp
}

func TestConsoleSecurity(t *testing.T) {
	e := start(t)
	b := e.browserish(t)
	resp, _ := b.do("GET", "/admin/", nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("anonymous /admin/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = b.login("alice@example.test")
	if resp.StatusCode != 303 {
		t.Fatalf("admin login: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-mh_admin" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v", cookie)
	}
	resp, page := b.do("GET", "/admin/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "example.test") || b.csrf == "" {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != web.CSP || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}

	// CSRF: no token, a wrong one, or a foreign Origin: refused.
	for name, tc := range map[string]struct {
		form url.Values
		hdr  []string
	}{
		"no token":       {url.Values{"domain": {"x1.test"}}, nil},
		"wrong token":    {url.Values{"domain": {"x2.test"}, "csrf": {"nope"}}, nil},
		"foreign origin": {url.Values{"domain": {"x3.test"}, "csrf": {b.csrf}}, []string{"Origin", "https://evil.example"}},
		"null origin, cross-site": {url.Values{"domain": {"x4.test"}, "csrf": {b.csrf}},
			[]string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}},
	} {
		resp, _ := b.do("POST", "/admin/domains", tc.form, tc.hdr...)
		if resp.StatusCode != 403 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	if ds, _ := e.st.Store.ListDomains(context.Background()); len(ds) != 1 {
		t.Errorf("a refused post changed something: %v", ds)
	}
	resp, _ = b.do("POST", "/admin/domains", url.Values{"domain": {"ok.test"}, "csrf": {b.csrf}})
	if resp.StatusCode != 303 {
		t.Errorf("good post: %d", resp.StatusCode)
	}
	if _, err := e.st.Store.GetDomain(context.Background(), "ok.test"); err != nil {
		t.Error(err)
	}

	// Revoking the flag ends the console for that session at once.
	if err := ops.New(e.st.Store, "cli:test").SetAdmin(context.Background(), "alice@example.test", false); err != nil {
		t.Fatal(err)
	}
	resp, page = b.do("GET", "/admin/", nil)
	if resp.StatusCode != 403 || strings.Contains(page, "ok.test") {
		t.Errorf("revoked admin: %d", resp.StatusCode)
	}
	resp, _ = b.do("GET", "/admin/", nil)
	if resp.StatusCode != 303 {
		t.Errorf("revoked admin's session still alive: %d", resp.StatusCode)
	}
}

func TestConsoleNonAdmin(t *testing.T) {
	e := start(t)
	b := e.browserish(t)
	resp := b.login("bob@example.test")
	if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
		t.Errorf("non-admin login: %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	for _, p := range []string{"/admin/", "/admin/domains/example.test", "/admin/accounts/alice@example.test", "/admin/audit", "/admin/nothing"} {
		resp, page := b.do("GET", p, nil)
		if resp.StatusCode != 303 || strings.Contains(page, "alice") {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// A disabled admin cannot log in either.
	o := ops.New(e.st.Store, "cli:test")
	ctx := context.Background()
	if _, _, err := o.AddAccount(ctx, ops.NewAccount{Address: "carol@example.test", Password: testenv.Password, Admin: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.SetDisabled(ctx, "carol@example.test", true); err != nil {
		t.Fatal(err)
	}
	// Disabled accounts are refused by the authenticator itself, like a
	// wrong password, so the page tells nothing about the account.
	if resp := b.login("carol@example.test"); resp.StatusCode != 401 {
		t.Errorf("disabled admin login: %d, want 401", resp.StatusCode)
	}
}

func TestConsoleLoginThrottled(t *testing.T) {
	e := start(t)
	b := e.browserish(t)
	for range 10 {
		resp, _ := b.do("POST", "/admin/login", url.Values{"username": {"alice@example.test"}, "password": {"wrong"}})
		if resp.StatusCode != 401 {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	if resp := b.login("alice@example.test"); resp.StatusCode != 429 {
		t.Errorf("after 10 failures: %d", resp.StatusCode)
	}
}

func TestConsoleAccountPages(t *testing.T) {
	e := start(t)
	b := e.browserish(t)
	b.login("alice@example.test")
	ctx := context.Background()

	// Delete asks first, and says what goes.
	resp, page := b.do("GET", "/admin/accounts/bob@example.test/delete", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Delete bob@example.test with its 0 message(s)") {
		t.Fatalf("confirm page: %d\n%s", resp.StatusCode, page)
	}
	if _, err := e.st.Store.GetAccount(ctx, "bob@example.test"); err != nil {
		t.Fatal("the confirmation page deleted the account")
	}
	for _, step := range []struct {
		path string
		form url.Values
		ok   func() bool
	}{
		{"/admin/accounts/bob@example.test/quota", url.Values{"quota": {"2G"}}, func() bool {
			a, _ := e.st.Store.GetAccount(ctx, "bob@example.test")
			return a.QuotaBytes == 2<<30
		}},
		{"/admin/accounts/bob@example.test/disable", url.Values{}, func() bool {
			f, _ := e.st.Store.(store.Admin).AccountFlags(ctx, "bob@example.test")
			return f.Disabled
		}},
		{"/admin/accounts/bob@example.test/grant", url.Values{}, func() bool {
			f, _ := e.st.Store.(store.Admin).AccountFlags(ctx, "bob@example.test")
			return f.Admin
		}},
		{"/admin/accounts/bob@example.test/password", url.Values{"password": {"bobs new password"}}, func() bool {
			// bob is disabled by now, so check the stored hash.
			a, _ := e.st.Store.GetAccount(ctx, "bob@example.test")
			ok, _ := auth.CheckPassword(a.PasswordHash, "bobs new password")
			return ok
		}},
		{"/admin/accounts/bob@example.test/delete", url.Values{}, func() bool {
			_, err := e.st.Store.GetAccount(ctx, "bob@example.test")
			return err != nil
		}},
	} {
		step.form.Set("csrf", b.csrf)
		resp, _ := b.do("POST", step.path, step.form)
		if resp.StatusCode != 303 || !step.ok() {
			t.Errorf("%s: %d", step.path, resp.StatusCode)
		}
		b.do("GET", resp.Header.Get("Location"), nil)
	}
	// An admin cannot delete or demote itself.
	for _, p := range []string{"/admin/accounts/alice@example.test/delete", "/admin/accounts/alice@example.test/revoke", "/admin/accounts/alice@example.test/disable"} {
		resp, _ := b.do("POST", p, url.Values{"csrf": {b.csrf}})
		_, page := b.do("GET", resp.Header.Get("Location"), nil)
		if !strings.Contains(page, "You cannot") {
			t.Errorf("%s allowed on oneself", p)
		}
	}
	if f, _ := e.st.Store.(store.Admin).AccountFlags(ctx, "alice@example.test"); !f.Admin || f.Disabled {
		t.Errorf("alice's flags changed: %+v", f)
	}
	// A generated password is shown once.
	resp, _ = b.do("POST", "/admin/domains/example.test/accounts", url.Values{"local": {"dave"}, "csrf": {b.csrf}})
	_, page = b.do("GET", resp.Header.Get("Location"), nil)
	m := regexp.MustCompile(`password \(shown only now\): ([A-Za-z0-9]+)`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no generated password shown")
	}
	if _, err := e.st.Auth.Login(ctx, "dave@example.test", html.UnescapeString(m[1]), netipLoopback); err != nil {
		t.Errorf("generated password %q does not work: %v", m[1], err)
	}
	_, page = b.do("GET", "/admin/domains/example.test", nil)
	if strings.Contains(page, m[1]) {
		t.Error("the password is shown twice")
	}
	// Logging out ends the session.
	resp, _ = b.do("POST", "/admin/logout", url.Values{"csrf": {b.csrf}})
	if resp.StatusCode != 303 || e.console.Sessions().Len() != 0 {
		t.Errorf("logout: %d, %d sessions", resp.StatusCode, e.console.Sessions().Len())
	}
}

// A password change through the API ends that account's console sessions.
func TestConsoleSessionEndsOnPasswordChange(t *testing.T) {
	e := start(t)
	b := e.browserish(t)
	b.login("alice@example.test")
	expect(t, e.call(t, "PATCH", "/accounts/alice@example.test", `{"password":"alices new password"}`), 200, "")
	if resp, _ := b.do("GET", "/admin/", nil); resp.StatusCode != 303 {
		t.Errorf("session survived a password change: %d", resp.StatusCode)
	}
}
