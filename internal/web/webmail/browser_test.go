package webmail_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
	"mailhouse/internal/web"
	"mailhouse/internal/web/webmail"
)

// bt drives one headless Chromium tab.
type bt struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	requests []string
	dialogs  []string
}

// newBrowser starts Chromium (Debian's chromium package) for one test.
// The test server's certificate is self-signed, hence
// ignore-certificate-errors.
func newBrowser(t *testing.T, base string) *bt {
	t.Helper()
	path := testutil.NeedTool(t, "chromium")
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"))
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &bt{t: t, base: base}
	// The first run starts the browser; it gets no time-out of its own
	// (the browser lives as long as that context).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		case *page.EventJavascriptDialogOpening:
			b.dialogs = append(b.dialogs, e.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	b.ctx = tctx
	return b
}

func (b *bt) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *bt) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// click clicks and waits for the page it leads to; it returns the status.
func (b *bt) click(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

func (b *bt) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b *bt) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return s
}

func (b *bt) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *bt) requested(substr string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if strings.Contains(u, substr) {
			return true
		}
	}
	return false
}

// shot writes a screenshot of the viewport to webmail-screenshots/ at
// the repository root (listed in .gitignore).
func (b *bt) shot(name string) {
	b.t.Helper()
	dir := filepath.Join(testutil.RepoRoot(b.t), "webmail-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	img, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bt) viewport(w, h int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	b.do(chromedp.EmulateViewport(w, h, opts...))
}

// tracker is a remote server that counts the requests a message's
// images make.
type tracker struct {
	srv  *httptest.Server
	hits atomic.Int32
}

func newTracker(t *testing.T) *tracker {
	tr := &tracker{}
	tr.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.hits.Add(1)
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

// fullServer runs the whole application (IMAP included) and serves the
// webmail on its store, as the app will.
type fullServer struct {
	srv  *testenv.Server
	base string
}

func startFull(t *testing.T, users ...string) *fullServer {
	t.Helper()
	s := testenv.Start(t, "", users...)
	a := s.App
	wm := webmail.New(webmail.Options{Store: a.Store, Auth: a.Auth, Deliverer: a.Deliverer, Resolver: a.Resolver, Hostname: testenv.Hostname})
	mux := http.NewServeMux()
	mux.Handle("/mail/", wm)
	mux.Handle("/mail", wm)
	hs := &http.Server{Handler: web.SecurityHeaders(mux), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(tls.NewListener(ln, a.Certs.TLSConfig())) }()
	t.Cleanup(func() {
		wm.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &fullServer{srv: s, base: "https://localhost:" + port}
}

// deliver stores a message in a user's INBOX as received ago.
func (f *fullServer) deliver(t *testing.T, to string, ago time.Duration, raw string) {
	t.Helper()
	when := time.Now().Add(-ago).Truncate(time.Minute)
	data := message.ToCRLF([]byte("Date: " + when.Format(time.RFC1123Z) + "\r\n" + raw))
	mb := f.srv.Mailbox(t, to, "INBOX")
	if _, err := f.srv.App.Deliverer.Append(context.Background(), mb.ID, nil, when, data); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserWebmail drives the webmail in headless Chromium: log in,
// read an HTML message whose script must not run and whose remote image
// must not load (until asked), send a message with an attachment to
// another account and find it in that account's INBOX over IMAP, reply,
// archive, search, refuse a form without its CSRF token, log out. It
// writes screenshots of the inbox, a message and the compose page at
// 1280×800 and 390×844.
func TestBrowserWebmail(t *testing.T) {
	fs := startFull(t, "alice", "bob")
	tr := newTracker(t)
	seedMailbox(t, fs, tr.srv.URL)
	b := newBrowser(t, fs.base)
	b.viewport(1280, 800, false)

	// Log in.
	b.open("/mail/")
	if !strings.Contains(b.location(), "/mail/login") {
		t.Fatalf("not sent to the login page: %s", b.location())
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), "alice@example.test"), chromedp.SendKeys(chromedp.CSS("#password"), testenv.Password))
	if st := b.click("#login"); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if h := b.text(".list-head h1"); h != "Inbox" {
		t.Fatalf("after login: %q", h)
	}
	if n := b.eval(`String(document.querySelectorAll('#msgs li.msg').length)`); n != "6" {
		t.Errorf("inbox rows: %s", n)
	}
	b.shot("inbox-1280x800")

	// The script (allowed by the CSP, from our own file): keyboard help,
	// and live updates when mail arrives.
	b.do(chromedp.KeyEvent("?"))
	if h := b.eval(`String(document.querySelector('#keys').hidden)`); h != "false" {
		t.Error("? does not show the keyboard help")
	}
	b.do(chromedp.KeyEvent("?"))
	fs.deliver(t, "alice@example.test", 0, "From: Dan <dan@elsewhere.example>\r\nTo: alice@example.test\r\nSubject: Just arrived\r\n\r\nHello!\r\n")
	live := ""
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && !(strings.Contains(live, "Just arrived") && strings.Contains(live, "(7) Inbox")); {
		time.Sleep(100 * time.Millisecond)
		live = b.eval(`document.querySelector('#msgs').innerText + '|' + document.title`)
	}
	if !strings.Contains(live, "Just arrived") || !strings.Contains(live, "(7) Inbox") {
		t.Errorf("the list did not update by itself: %q", live)
	}

	// Read the hostile HTML message (j moves down the list, o opens).
	for i := 0; i < 7; i++ {
		b.do(chromedp.KeyEvent("j"))
	}
	if _, err := chromedp.RunResponse(b.ctx, chromedp.KeyEvent("o")); err != nil {
		t.Fatalf("opening with o: %v", err)
	}
	if s := b.text("#subject"); s != "Your invoice is ready" {
		t.Fatalf("subject %q", s)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS("iframe.html")))
	waitFrame := `(function(){var f=document.querySelector('iframe.html');var d=f&&f.contentDocument;return d&&d.readyState==='complete'&&d.body?d.body.innerText:'';})()`
	var frameText string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && !strings.Contains(frameText, "Thank you"); {
		frameText = b.eval(waitFrame)
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(frameText, "Thank you for your order") {
		t.Fatalf("frame text %q", frameText)
	}
	time.Sleep(500 * time.Millisecond) // let anything that would load, load
	if got := b.eval(`document.querySelector('iframe.html').contentDocument.title + '|' + document.title + '|' + (window.pwned||'') + (document.querySelector('iframe.html').contentWindow.pwned||'')`); strings.Contains(got, "pwned") {
		t.Errorf("the message's script ran: %q", got)
	}
	if len(b.dialogs) > 0 {
		t.Errorf("the message opened dialogs: %v", b.dialogs)
	}
	if n := tr.hits.Load(); n != 0 || b.requested(tr.srv.URL) {
		t.Errorf("the remote image was fetched (%d hits)", n)
	}
	if w := b.eval(`String(document.querySelector('iframe.html').contentDocument.querySelector('img[alt=logo]').naturalWidth)`); w != "1" {
		t.Errorf("the inline cid: image did not load (width %s)", w)
	}
	if h := b.eval(`document.querySelector('iframe.html').style.height`); h == "" {
		t.Error("the frame was not sized to its content")
	}
	if !strings.Contains(b.text("#remote-notice"), "Remote images are blocked") {
		t.Error("no notice about blocked images")
	}
	b.shot("message-1280x800")
	// The user asks: now it loads.
	b.click("#show-images")
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && tr.hits.Load() == 0; {
		time.Sleep(100 * time.Millisecond)
	}
	if tr.hits.Load() == 0 {
		t.Error("after Show images the remote image still did not load")
	}

	// Compose to bob with an attachment.
	att := filepath.Join(t.TempDir(), "plan.txt")
	if err := os.WriteFile(att, []byte("the plan, in full\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.click("#compose")
	b.do(chromedp.SendKeys(chromedp.CSS("#to"), "bob@example.test"),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Project plan"),
		chromedp.SendKeys(chromedp.CSS("#body"), "Hi Bob,\n\nthe plan is attached.\n\nAlice"),
		chromedp.SetUploadFiles(chromedp.CSS("#attach"), []string{att}))
	b.shot("compose-1280x800")
	if st := b.click("#send"); st != 200 {
		t.Fatalf("send: %d", st)
	}
	if f := b.text("#flash"); f != "Message sent." {
		t.Errorf("after sending: %q", f)
	}
	checkIMAP(t, fs, "bob@example.test", "Project plan", "plan.txt")

	// Reply to bob's message.
	b.click(`#msgs li.msg a.row[href$="/2"]`)
	b.click("#reply")
	if v := b.eval(`document.querySelector('#to').value`); !strings.Contains(v, "bob@example.test") {
		t.Errorf("reply To %q", v)
	}
	b.do(chromedp.Click(chromedp.CSS("#body")), chromedp.KeyEvent("Sounds good!"))
	if st := b.click("#send"); st != 200 {
		t.Fatalf("reply: %d", st)
	}
	checkIMAP(t, fs, "bob@example.test", "Re: Lunch on Friday?", "")

	// Archive it.
	b.click(`#msgs li.msg a.row[href$="/2"]`)
	b.click("#act-archive")
	if f := b.text("#flash"); f != "1 message moved to Archive." {
		t.Errorf("archive: %q", f)
	}
	if l := messagesOf(t, fs, "alice@example.test", "Archive"); len(l) != 1 {
		t.Errorf("Archive has %d messages", len(l))
	}

	// Search.
	b.do(chromedp.SendKeys(chromedp.CSS("#q"), "pumpernickel\n"))
	b.do(chromedp.WaitVisible(chromedp.CSS("#clear-search")))
	if rows := b.eval(`Array.from(document.querySelectorAll('#msgs .subj')).map(function(e){return e.textContent}).join('|')`); rows != "Recipe" {
		t.Errorf("search results: %q", rows)
	}

	// Phone-sized screenshots.
	b.viewport(390, 844, true)
	b.open("/mail/")
	b.shot("inbox-390x844")
	b.click(`#msgs li.msg a.row[href$="/1"]`)
	time.Sleep(300 * time.Millisecond)
	b.shot("message-390x844")
	if vis := b.eval(`getComputedStyle(document.querySelector('#list')).display`); vis != "none" {
		t.Errorf("on a phone the list shows beside the message (%s)", vis)
	}
	b.open("/mail/compose")
	b.shot("compose-390x844")
	b.viewport(1280, 800, false)

	// A form whose CSRF token is gone is refused and changes nothing.
	b.open("/mail/")
	b.eval(`document.querySelector('#msgs input[name=uid]').checked = true; document.querySelectorAll('#list-form input[name=csrf]').forEach(function(e){e.remove()}); 'ok'`)
	if st := b.click("#bulk-flag"); st != http.StatusForbidden {
		t.Errorf("post without a CSRF token: status %d", st)
	}
	if !strings.Contains(b.text("#error-message"), "did not come from this webmail") {
		t.Error("no explanation for the refused form")
	}
	for _, m := range messagesOf(t, fs, "alice@example.test", "INBOX") {
		if has(m.Flags, `\Flagged`) {
			t.Error("the refused form flagged a message")
		}
	}

	// Log out.
	b.open("/mail/")
	b.click("#logout")
	if !strings.Contains(b.text("#login-notice"), "You have logged out") {
		t.Error("no logout notice")
	}
	b.open("/mail/")
	if !strings.Contains(b.location(), "/mail/login") {
		t.Errorf("after logout /mail/ shows %s", b.location())
	}
}

// seedMailbox fills alice's INBOX with mail that looks like real mail;
// message 1 is hostile HTML with a remote image on the tracker.
func seedMailbox(t *testing.T, fs *fullServer, trackerURL string) {
	t.Helper()
	hostile := "From: Shop Billing <billing@shop.example>\r\nTo: alice@example.test\r\nSubject: Your invoice is ready\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><head><title>x</title><script>document.title='pwned';window.pwned='pwned';alert('pwned')</script></head>" +
		"<body onload=\"window.pwned='pwned'\"><table width=\"100%\" cellpadding=\"12\"><tr><td bgcolor=\"#1a56db\"><font color=\"#ffffff\" size=\"5\"><b>Shop</b></font> <img src=\"cid:logo@shop\" alt=\"logo\" width=\"16\" height=\"16\"></td></tr>" +
		"<tr><td><h2>Thank you for your order</h2><p>Your invoice <b>#4711</b> is ready. Total: <span style=\"color:#0a7d32\">€ 42.00</span>.</p>" +
		"<p><img src=\"" + trackerURL + "/pixel.gif\" alt=\"tracker\" width=\"1\" height=\"1\" onerror=\"window.pwned='pwned'\"></p>" +
		"<p><a href=\"https://shop.example/orders/4711\">View your order</a></p><script>alert('pwned')</script></td></tr></table></body></html>\r\n" +
		"--r\r\nContent-Type: image/gif\r\nContent-ID: <logo@shop>\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=\r\n--r--\r\n"
	fs.deliver(t, "alice@example.test", 6*24*time.Hour, hostile)
	fs.deliver(t, "alice@example.test", 4*24*time.Hour+3*time.Hour, "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Lunch on Friday?\r\nMessage-ID: <lunch@example.test>\r\n"+
		"\r\nHi Alice,\r\n\r\nshall we have lunch on Friday at noon? The new place near the station.\r\n\r\nBob\r\n")
	fs.deliver(t, "alice@example.test", 2*24*time.Hour, "From: =?utf-8?q?Zo=C3=AB_Martin?= <zoe@elsewhere.example>\r\nTo: alice@example.test\r\nSubject: Recipe\r\n"+
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+
		"The secret is pumpernickel and cr=E8me fra=EEche.\r\n")
	fs.deliver(t, "alice@example.test", 26*time.Hour, "From: Team Calendar <calendar@elsewhere.example>\r\nTo: alice@example.test\r\nSubject: Quarterly review slides\r\n"+
		"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nSlides attached.\r\n"+
		"--m\r\nContent-Type: application/pdf; name=\"review.pdf\"\r\nContent-Disposition: attachment; filename=\"review.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m--\r\n")
	fs.deliver(t, "alice@example.test", 5*time.Hour, "From: Newsletter <news@elsewhere.example>\r\nTo: alice@example.test\r\nSubject: This week: ten things worth reading\r\n"+
		"\r\nThe best of the week, picked by our editors.\r\n")
	fs.deliver(t, "alice@example.test", 40*time.Minute, "From: Carol Jones <carol@elsewhere.example>\r\nTo: alice@example.test\r\nCc: bob@example.test\r\nSubject: Photos from the trip\r\n"+
		"\r\nHere are a few of the photos. The one at the lake is my favourite!\r\n")
}

func messagesOf(t *testing.T, fs *fullServer, addr, mailbox string) []store.MessageMeta {
	t.Helper()
	mb := fs.srv.Mailbox(t, addr, mailbox)
	l, err := fs.srv.App.Store.ListMessages(context.Background(), mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checkIMAP logs in over IMAPS as a real IMAP client would and finds a
// message with the subject (and the attachment) in the INBOX.
func checkIMAP(t *testing.T, fs *fullServer, user, subject, filename string) {
	t.Helper()
	c, err := imapclient.DialTLS(fs.srv.Addr(t, "imaps"), &imapclient.Options{TLSConfig: fs.srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	msgs, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Envelope == nil || m.Envelope.Subject != subject {
			continue
		}
		if filename == "" {
			return
		}
		found := false
		m.BodyStructure.Walk(func(_ []int, p imap.BodyStructure) bool {
			if sp, ok := p.(*imap.BodyStructureSinglePart); ok && sp.Filename() == filename {
				found = true
			}
			return true
		})
		if !found {
			t.Errorf("IMAP: %q has no attachment %s", subject, filename)
		}
		return
	}
	t.Errorf("IMAP: no message %q in %s's INBOX (%d messages)", subject, user, len(msgs))
}
