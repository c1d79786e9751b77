package webmail_test

import (
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

var (
	frameRE = regexp.MustCompile(`<iframe class="html" src="([^"]+)"`)
	partRE  = regexp.MustCompile(`href="(/mail/f/\d+/\d+/part/[0-9.]+(?:\?dl=1)?)"`)
)

// TestCorpusRenders: every message of the shared corpus (malformed ones
// included) is delivered and shown through the handler: its page, its
// HTML frames, its parts, the original, and reply and forward forms. No
// request fails, hangs or lets script into a frame.
func TestCorpusRenders(t *testing.T) {
	files := testutil.CorpusFiles(t)
	e := start(t, "alice")
	uids := map[store.UID]string{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d := deliverBytes(t, e.st, "alice@example.test", message.ToCRLF(b))
		uids[d.UID] = filepath.Base(p)
	}
	c := e.login(t, "alice")
	inbox := folderPath(t, e.st, "alice@example.test", "INBOX")
	mbID := itoa(int64(e.st.Mailbox(t, "alice@example.test", "INBOX").ID))
	slow := 30 * time.Second // a hang, not a slow machine
	timed := func(name, path string) resp {
		t.Helper()
		start := time.Now()
		r := c.get(path)
		if d := time.Since(start); d > slow {
			t.Errorf("%s: %s took %v", name, path, d)
		}
		if r.status != 200 {
			t.Errorf("%s: %s: status %d", name, path, r.status)
		}
		return r
	}
	for page := 1; page <= (len(files)+49)/50; page++ {
		timed("list", inbox+"?page="+itoa(int64(page)))
	}
	frames, parts := 0, 0
	for uid, name := range uids {
		r := timed(name, inbox+"/"+itoa(int64(uid)))
		for _, m := range frameRE.FindAllStringSubmatch(r.body, -1) {
			f := timed(name, html.UnescapeString(m[1]))
			low := strings.ToLower(f.body)
			if strings.Contains(low, "<script") || strings.Contains(low, " onload=") || strings.Contains(low, " onerror=") {
				t.Errorf("%s: script in the frame", name)
			}
			frames++
		}
		for _, m := range partRE.FindAllStringSubmatch(r.body, 20) {
			timed(name, html.UnescapeString(m[1]))
			parts++
		}
		timed(name, inbox+"/"+itoa(int64(uid))+"/raw")
		modes := []string{"reply", "forward"}
		if uid%4 == 0 { // the other forms share their code with these
			modes = append(modes, "all", "attach", "edit")
		}
		for _, mode := range modes {
			timed(name, "/mail/compose?mode="+mode+"&m="+mbID+":"+itoa(int64(uid)))
		}
	}
	for _, q := range []string{"the", "from:example", "subject:test", "body:zzzznotthere", "has:attachment"} {
		timed("search "+q, inbox+"?q="+q)
	}
	t.Logf("%d messages, %d HTML frames, %d parts", len(uids), frames, parts)
	if frames < 50 || parts < 100 {
		t.Errorf("only %d frames and %d parts: the corpus is not being exercised", frames, parts)
	}
}
