package admin_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailhouse/internal/smtpd"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// browser starts a headless Chromium for one test. The test server's
// certificate is self-signed, hence ignore-certificate-errors.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testutil.NeedTool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// submit types into a form's (empty) fields (name → value), clicks its submit
// button and returns the status of the page it lands on.
func submit(t *testing.T, ctx context.Context, form string, fields map[string]string) int64 {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for name, v := range fields {
		sel := chromedp.CSS(form + ` [name="` + name + `"]`)
		steps = append(steps, chromedp.SendKeys(sel, v))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("filling %s: %v", form, err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)))
	if err != nil {
		t.Fatalf("submitting %s: %v", form, err)
	}
	return resp.Status
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	if dir := os.Getenv("MAILHOUSE_SCREENSHOTS"); dir != "" {
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
		}
	}
}

// startSMTP serves port-25 style SMTP (MX mode) on the stack.
func startSMTP(t *testing.T, st *testenv.Stack) string {
	t.Helper()
	s := smtpd.New(smtpd.Options{Hostname: "mail.example.test", TLS: st.ServerTLS, Deliverer: st.Deliverer, Resolver: st.Resolver, Auth: st.Auth, Logger: st.Logger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.ServeMX(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// TestBrowserAdminCreatesDomainAccountAlias: an admin logs in with
// Chromium, creates a domain, an account and an alias through the pages;
// then mail to the alias on the MX port lands in the account's INBOX.
func TestBrowserAdminCreatesDomainAccountAlias(t *testing.T) {
	swaks := testutil.NeedTool(t, "swaks")
	e := start(t)
	mx := startSMTP(t, e.st)
	ctx := browser(t)

	// Not logged in: /admin leads to the login page.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/admin")); err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/admin/login") {
		t.Fatalf("landed on %s", loc)
	}
	if st := submit(t, ctx, "form", map[string]string{"username": "alice@example.test", "password": testenv.Password}); st != 200 {
		t.Fatalf("login: status %d", st)
	}
	if h := text(t, ctx, "h1"); h != "Domains" {
		t.Fatalf("after login: %q", h)
	}

	if st := submit(t, ctx, "#add-domain", map[string]string{"domain": "Shop.TEST"}); st != 200 {
		t.Fatalf("add domain: %d", st)
	}
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "Domain shop.test added") {
		t.Fatalf("flash %q", f)
	}
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/admin/domains/shop.test") {
		t.Fatalf("after adding the domain: %s", loc)
	}
	if dns := text(t, ctx, "#dns"); !strings.Contains(dns, "_submissions._tcp.shop.test.\t3600\tIN\tSRV\t0 1 465 mail.example.test.") ||
		!strings.Contains(dns, "shop.test.\t3600\tIN\tMX\t10 mail.example.test.") {
		t.Errorf("DNS records on the page:\n%s", dns)
	}

	submit(t, ctx, "#add-account", map[string]string{"local": "carol", "password": "a fine long password", "quota": "1G"})
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "Account carol@shop.test created") {
		t.Fatalf("flash %q", f)
	}
	if acc := text(t, ctx, "#accounts"); !strings.Contains(acc, "carol@shop.test") || !strings.Contains(acc, "1 GiB") {
		t.Errorf("accounts table: %q", acc)
	}

	submit(t, ctx, "#add-alias", map[string]string{"local": "sales", "targets": "carol@shop.test, alice@example.test"})
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "Alias sales@shop.test added") {
		t.Fatalf("flash %q", f)
	}
	// Bad input is refused with a readable message.
	submit(t, ctx, "#add-alias", map[string]string{"local": "ghost", "targets": "nobody@shop.test"})
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "does not exist") {
		t.Errorf("flash for an unknown target: %q", f)
	}
	screenshot(t, ctx, "admin-domain")

	// The alias receives mail on the MX port.
	out, err := exec.Command(swaks, "--server", mx, "--from", "someone@elsewhere.example", "--to", "sales@shop.test",
		"--header", "Subject: hello sales", "--body", "order 42", "--timeout", "20").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	for _, who := range []string{"carol@shop.test", "alice@example.test"} {
		mb := e.st.Mailbox(t, who, "INBOX")
		msgs, err := e.st.Store.ListMessages(context.Background(), mb.ID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s INBOX: %d messages, %v", who, len(msgs), err)
		}
		b, _ := e.st.Store.ReadMessage(context.Background(), mb.ID, msgs[0].UID)
		if !strings.Contains(string(b), "Subject: hello sales") {
			t.Errorf("%s got:\n%s", who, b)
		}
	}

	// The change is in the audit log the console shows.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/admin/audit")); err != nil {
		t.Fatal(err)
	}
	audit := text(t, ctx, "table.audit")
	for _, want := range []string{"admin:alice@example.test\tdomain.add\tshop.test", "account.add\tcarol@shop.test", "alias.add\tsales@shop.test"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q:\n%s", want, audit)
		}
	}
	screenshot(t, ctx, "admin-audit")
}

// TestBrowserNonAdminForbidden: a user who is not an admin gets 403 and
// sees nothing of the console.
func TestBrowserNonAdminForbidden(t *testing.T) {
	e := start(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/admin/login")); err != nil {
		t.Fatal(err)
	}
	if st := submit(t, ctx, "form", map[string]string{"username": "bob@example.test", "password": testenv.Password}); st != 403 {
		t.Errorf("non-admin login: status %d, want 403", st)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, "not an administrator") || strings.Contains(html, "example.test</a>") || strings.Contains(html, "alice") {
		t.Errorf("403 page shows too much:\n%s", html)
	}
	// No session was made: /admin/ goes back to the login page.
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.base+"/admin/"))
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/admin/login") || resp.Status != 200 {
		t.Errorf("after a refused login /admin/ gave %d at %s", resp.Status, loc)
	}
	// A wrong password is a 401 with the form again.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/admin/login")); err != nil {
		t.Fatal(err)
	}
	if st := submit(t, ctx, "form", map[string]string{"username": "alice@example.test", "password": "wrong password"}); st != 401 {
		t.Errorf("wrong password: %d", st)
	}
}
