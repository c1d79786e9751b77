package webmail_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"mailhouse/internal/store"
)

var subjRE = regexp.MustCompile(`<span class="subj">([^<]*)</span>`)

func subjects(body string) []string {
	var out []string
	for _, m := range subjRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestListPagingSortSearch: 120 messages: pages of 50 newest first,
// the other order, unread markers and counts, and searches by sender,
// recipient, subject and body text.
func TestListPagingSortSearch(t *testing.T) {
	e := start(t)
	for i := 1; i <= 120; i++ {
		from := "Someone <someone@elsewhere.example>"
		if i%10 == 0 {
			from = "Zoë Tenth <zoe@tenth.example>"
		}
		body := fmt.Sprintf("message number %d", i)
		if i == 77 {
			body = "the secret word is Pumpernickel"
		}
		deliver(t, e.st, "alice@example.test", simple(from, "alice@example.test", fmt.Sprintf("msg %03d", i), body))
	}
	c := e.login(t, "alice")
	inbox := folderPath(t, e.st, "alice@example.test", "INBOX")
	r := c.get(inbox)
	s := subjects(r.body)
	if len(s) != 50 || s[0] != "msg 120" || s[49] != "msg 071" {
		t.Fatalf("page 1: %d rows, %v…", len(s), s[:min(3, len(s))])
	}
	if !strings.Contains(r.body, "120 unread · 120 in all") || !strings.Contains(r.body, `title="120 unread">120</span>`) {
		t.Errorf("counts missing")
	}
	if n := strings.Count(r.body, `class="msg unread`); n != 50 {
		t.Errorf("%d unread rows", n)
	}
	if !strings.Contains(r.body, `id="older"`) || strings.Contains(r.body, `id="newer"`) {
		t.Error("pager links on page 1")
	}
	r = c.get(inbox + "?page=3")
	if s = subjects(r.body); len(s) != 20 || s[0] != "msg 020" || s[19] != "msg 001" {
		t.Fatalf("page 3: %v", s)
	}
	if strings.Contains(r.body, `id="older"`) || !strings.Contains(r.body, "101–120 of 120") {
		t.Error("pager on the last page")
	}
	r = c.get(inbox + "?sort=asc")
	if s = subjects(r.body); s[0] != "msg 001" || !strings.Contains(r.body, "Oldest first") {
		t.Fatalf("oldest first: %v", s[:3])
	}
	// Past the end: an empty page, not an error.
	if r = c.get(inbox + "?page=99"); r.status != 200 || len(subjects(r.body)) != 0 {
		t.Errorf("page 99: %d", r.status)
	}

	for q, want := range map[string][]string{
		"from:zoë":            {"msg 120", "msg 110", "msg 100"},
		"from:tenth.example":  {"msg 120"},
		"subject:\"msg 07\"":  {"msg 079", "msg 078"},
		"pumpernickel":        {"msg 077"},
		"body:secret":         {"msg 077"},
		"to:alice subject:5":  {"msg 115", "msg 105", "msg 095"},
		"nothing-matches-xyz": nil,
	} {
		r = c.get(inbox + "?q=" + url.QueryEscape(q))
		got := subjects(r.body)
		for i, w := range want {
			if i >= len(got) || got[i] != w {
				t.Errorf("search %q: got %v, want %v first", q, got[:min(len(got), 5)], want)
				break
			}
		}
		if want == nil && (len(got) != 0 || !strings.Contains(r.body, "No message matches")) {
			t.Errorf("search %q: %v", q, got)
		}
		if !strings.Contains(r.body, `value="`+htmlEscape(q)+`"`) {
			t.Errorf("search %q: the box does not show the query", q)
		}
	}
	// A search result links keep the query (paging within results).
	r = c.get(inbox + "?q=msg")
	if !strings.Contains(r.body, "?page=2&amp;q=msg") {
		t.Error("search results have no next page link")
	}
	// is:unread after reading one.
	c.get(msgPath(t, e.st, "alice@example.test", "INBOX", 120))
	r = c.get(inbox + "?q=" + url.QueryEscape("is:unread from:zoe"))
	if got := subjects(r.body); len(got) == 0 || got[0] != "msg 110" {
		t.Errorf("is:unread: %v", got)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&#34;", `<`, "&lt;", `>`, "&gt;", `'`, "&#39;").Replace(s)
}

// TestBulkActions: select messages and mark read, unread, flag; archive;
// delete to Trash; delete from Trash for good; move to another folder.
func TestBulkActions(t *testing.T) {
	e := start(t)
	var uids []store.UID
	for i := 0; i < 5; i++ {
		d := deliver(t, e.st, "alice@example.test", simple("x@elsewhere.example", "alice@example.test", fmt.Sprintf("bulk %d", i), "hi"))
		uids = append(uids, d.UID)
	}
	c := e.login(t, "alice")
	inbox := folderPath(t, e.st, "alice@example.test", "INBOX")
	post := func(action string, extra url.Values, us ...store.UID) resp {
		f := url.Values{"action": {action}}
		for k, v := range extra {
			f[k] = v
		}
		for _, u := range us {
			f.Add("uid", itoa(int64(u)))
		}
		r := c.post(inbox, f, true)
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", action, r.status, r.body)
		}
		return c.follow(r)
	}
	r := post("read", nil, uids[0], uids[1])
	if !strings.Contains(r.body, "2 messages marked as read.") {
		t.Errorf("flash after read:\n%s", r.body)
	}
	post("flag", nil, uids[1])
	m := messages(t, e.st, "alice@example.test", "INBOX")
	if !has(m[0].Flags, `\Seen`) || !has(m[1].Flags, `\Flagged`) || has(m[2].Flags, `\Seen`) {
		t.Fatalf("flags: %v", m)
	}
	post("unread", nil, uids[0])
	if m = messages(t, e.st, "alice@example.test", "INBOX"); has(m[0].Flags, `\Seen`) {
		t.Error("unread did not clear \\Seen")
	}
	r = post("archive", nil, uids[0])
	if !strings.Contains(r.body, "1 message moved to Archive.") {
		t.Errorf("flash after archive")
	}
	post("delete", nil, uids[1], uids[2])
	archive := e.st.Mailbox(t, "alice@example.test", "Archive")
	post("move", url.Values{"to": {itoa(int64(archive.ID))}}, uids[3])
	if n := len(messages(t, e.st, "alice@example.test", "INBOX")); n != 1 {
		t.Errorf("INBOX has %d messages", n)
	}
	if n := len(messages(t, e.st, "alice@example.test", "Archive")); n != 2 {
		t.Errorf("Archive has %d", n)
	}
	trash := messages(t, e.st, "alice@example.test", "Trash")
	if len(trash) != 2 || !has(trash[0].Flags, `\Seen`) {
		t.Fatalf("Trash: %v", trash)
	}
	// In Trash, delete is for good.
	tp := folderPath(t, e.st, "alice@example.test", "Trash")
	r = c.post(tp, url.Values{"action": {"delete"}, "uid": {itoa(int64(trash[0].UID)), itoa(int64(trash[1].UID))}}, true)
	if r = c.follow(r); !strings.Contains(r.body, "2 messages deleted for good.") {
		t.Errorf("flash after deleting from Trash")
	}
	if n := len(messages(t, e.st, "alice@example.test", "Trash")); n != 0 {
		t.Errorf("Trash has %d after deleting for good", n)
	}
	// Nothing selected, unknown action, moving to someone else's folder.
	r = c.follow(c.post(inbox, url.Values{"action": {"read"}}, true))
	if !strings.Contains(r.body, "Select one or more messages first.") {
		t.Error("no selection: no message")
	}
	bobInbox := e.st.Mailbox(t, "bob@example.test", "INBOX")
	r = c.follow(c.post(inbox, url.Values{"action": {"move"}, "to": {itoa(int64(bobInbox.ID))}, "uid": {itoa(int64(uids[4]))}}, true))
	if !strings.Contains(r.body, "Choose a folder to move to.") || len(messages(t, e.st, "bob@example.test", "INBOX")) != 0 {
		t.Error("moved into another user's folder")
	}
}

// TestActionLimit: one action changes at most 1000 messages.
func TestActionLimit(t *testing.T) {
	e := start(t)
	c := e.login(t, "alice")
	f := url.Values{"action": {"read"}}
	for i := 1; i <= 1001; i++ {
		f.Add("uid", itoa(int64(i)))
	}
	r := c.follow(c.post(folderPath(t, e.st, "alice@example.test", "INBOX"), f, true))
	if !strings.Contains(r.body, "At most 1000 messages") {
		t.Errorf("1001 UIDs:\n%s", r.body)
	}
}

// TestMessageNavigation: the message page has the list beside it, links
// to the neighbours, and after deleting goes to the next one.
func TestMessageNavigation(t *testing.T) {
	e := start(t)
	var uids []store.UID
	for i := 0; i < 3; i++ {
		uids = append(uids, deliver(t, e.st, "alice@example.test", simple("x@elsewhere.example", "alice@example.test", fmt.Sprintf("nav %d", i), "hi")).UID)
	}
	c := e.login(t, "alice")
	p := msgPath(t, e.st, "alice@example.test", "INBOX", uids[1])
	r := c.get(p)
	if !strings.Contains(r.body, `href="`+msgPath(t, e.st, "alice@example.test", "INBOX", uids[2])+`" id="prev"`) ||
		!strings.Contains(r.body, `href="`+msgPath(t, e.st, "alice@example.test", "INBOX", uids[0])+`" id="next"`) {
		t.Errorf("neighbour links:\n%s", r.body)
	}
	if !strings.Contains(r.body, `class="msg current"`) || len(subjects(r.body)) != 3 {
		t.Error("the list beside the message")
	}
	r = c.post(folderPath(t, e.st, "alice@example.test", "INBOX"), url.Values{"action": {"delete"}, "uid": {itoa(int64(uids[1]))},
		"back": {p}, "after": {msgPath(t, e.st, "alice@example.test", "INBOX", uids[0])}}, true)
	if r.location() != msgPath(t, e.st, "alice@example.test", "INBOX", uids[0]) {
		t.Errorf("after delete: %s", r.location())
	}
	mb := e.st.Mailbox(t, "alice@example.test", "Trash")
	if l, _ := e.st.Store.ListMessages(context.Background(), mb.ID); len(l) != 1 {
		t.Error("not in Trash")
	}
}
