package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailhouse/internal/testutil"
)

// TestBrowserSettingsFollowConfig: Chromium shows the settings page;
// after a restart with another IMAPS port, the page shows the new port.
func TestBrowserSettingsFollowConfig(t *testing.T) {
	path := testutil.NeedTool(t, "chromium")
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true))
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	st := twoDomains(t)
	imapsRow := func(base string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/settings/second.test")); err != nil {
			t.Fatal(err)
		}
		row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#incoming tr[data-protocol="IMAP"][data-security="SSL/TLS"]`)))
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	if row := imapsRow(s.https); !strings.Contains(row, "2993") || !strings.Contains(row, "mail.example.test") {
		t.Fatalf("IMAPS row before: %q", row)
	}
	if err := s.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := startWeb(t, st, parseConfig(t, strings.Replace(testConfig, `"[::]:2993"`, `"[::]:4993"`, 1)), nil)
	if row := imapsRow(s2.https); !strings.Contains(row, "4993") || strings.Contains(row, "2993") {
		t.Errorf("IMAPS row after the restart: %q", row)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "Email settings for second.test" {
		t.Errorf("title %q %v", title, err)
	}
	if b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && len(b) > 0 {
		if dir := testScreenshots(); dir != "" {
			writeFile(t, dir+"/settings.png", b)
		}
	}
}
