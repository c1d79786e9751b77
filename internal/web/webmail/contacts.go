package webmail

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// Address completion from past correspondents: the recipients of recent
// mail in Sent (who the user writes to counts most) and the senders of
// recent mail in INBOX. The list is built on first use and cached per
// account for a while; sending adds to it.
const (
	contactsScan      = 500 // recent messages read per folder
	contactsTTL       = 10 * time.Minute
	maxContacts       = 5000 // per account
	maxContactsCached = 1000 // accounts
	maxSuggestions    = 10
	// maxDatalist is how many contacts the compose page lists for
	// browsers without script.
	maxDatalist = 100
)

type contact struct {
	Name, Addr string
	score      int
}

// Label is the contact as it goes into an address field.
func (c contact) Label() string {
	return (&mail.Address{Name: c.Name, Address: c.Addr}).String()
}

type contactList struct {
	built  time.Time
	byAddr map[string]*contact
}

type contactCache struct {
	mu sync.Mutex
	m  map[store.AccountID]*contactList
}

func newContactCache() *contactCache {
	return &contactCache{m: map[store.AccountID]*contactList{}}
}

// list returns the account's contacts, best first.
func (c *contactCache) list(ctx context.Context, wm *Webmail, acct store.AccountID) []contact {
	now := wm.o.Now()
	c.mu.Lock()
	l := c.m[acct]
	c.mu.Unlock()
	if l == nil || now.Sub(l.built) > contactsTTL {
		l = wm.buildContacts(ctx, acct)
		l.built = now
		c.mu.Lock()
		if len(c.m) >= maxContactsCached {
			for k := range c.m { // drop any one: it is only a cache
				delete(c.m, k)
				break
			}
		}
		c.m[acct] = l
		c.mu.Unlock()
	}
	c.mu.Lock()
	out := make([]contact, 0, len(l.byAddr))
	for _, ct := range l.byAddr {
		out = append(out, *ct)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b contact) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	return out
}

func (c *contactCache) top(ctx context.Context, wm *Webmail, acct store.AccountID, n int) []contact {
	l := c.list(ctx, wm, acct)
	return l[:min(n, len(l))]
}

// add counts addresses the user just wrote to.
func (c *contactCache) add(acct store.AccountID, addrs []*mail.Address) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.m[acct]
	if l == nil {
		return
	}
	for _, a := range addrs {
		l.bump(a.Name, a.Address, 3)
	}
}

func (l *contactList) bump(name, addr string, n int) {
	key := strings.ToLower(addr)
	if ct := l.byAddr[key]; ct != nil {
		ct.score += n
		if ct.Name == "" {
			ct.Name = name
		}
		return
	}
	if len(l.byAddr) < maxContacts {
		l.byAddr[key] = &contact{Name: name, Addr: addr, score: n}
	}
}

func (wm *Webmail) buildContacts(ctx context.Context, acct store.AccountID) *contactList {
	l := &contactList{byAddr: map[string]*contact{}}
	scan := func(mb store.Mailbox, weight int, fields func(e *message.Envelope) [][]message.Address) {
		metas, err := wm.o.Store.ListMessages(ctx, mb.ID)
		if err != nil {
			return
		}
		for i := len(metas) - 1; i >= 0 && i >= len(metas)-contactsScan; i-- {
			s := wm.structure(ctx, mb.ID, metas[i].UID)
			if s == nil {
				continue
			}
			for _, list := range fields(&s.Envelope) {
				for _, a := range realAddresses(list) {
					addr := plainAddress(a)
					if !validAddress(addr) {
						continue
					}
					l.bump(strings.TrimSpace(oneLine(a.Name)), addr, weight)
				}
			}
		}
	}
	if mb, err := wm.specialFolder(ctx, acct, store.SpecialSent); err == nil {
		scan(mb, 3, func(e *message.Envelope) [][]message.Address { return [][]message.Address{e.To, e.Cc, e.Bcc} })
	}
	if mb, err := wm.o.Store.GetMailbox(ctx, acct, "INBOX"); err == nil {
		scan(mb, 1, func(e *message.Envelope) [][]message.Address { return [][]message.Address{e.From} })
	}
	if a, err := wm.o.Store.GetAccountByID(ctx, acct); err == nil {
		delete(l.byAddr, a.Address)
	}
	return l
}

// contactsJSON answers the address completion of the compose page:
// contacts whose address or a word of whose name starts with q.
func (wm *Webmail) contactsJSON(w http.ResponseWriter, r *http.Request, q *request) {
	term := fold(strings.TrimSpace(r.URL.Query().Get("q")))
	if len(term) > 200 {
		term = term[:200]
	}
	type suggestion struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		Label   string `json:"label"`
	}
	out := []suggestion{}
	if term != "" {
		for _, c := range wm.contacts.list(r.Context(), wm, q.acct.ID) {
			if !contactMatches(c, term) {
				continue
			}
			out = append(out, suggestion{Name: c.Name, Address: c.Addr, Label: c.Label()})
			if len(out) == maxSuggestions {
				break
			}
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

func contactMatches(c contact, term string) bool {
	if strings.HasPrefix(fold(c.Addr), term) {
		return true
	}
	name := fold(c.Name)
	if strings.HasPrefix(name, term) {
		return true
	}
	for _, w := range strings.Fields(name) {
		if strings.HasPrefix(w, term) {
			return true
		}
	}
	return false
}
