package webmail

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"mailhouse/internal/store"
)

// Live updates: the page's script opens an EventSource on /events; the
// stream sends "mailbox" events (the ID of a mailbox that changed) from
// store.Feed, and the page reloads its folder list and message list.
// Streams are bounded in number (per account and in all), in lifetime
// (the browser reconnects by itself), and end with the session's
// activity, with Close, or with the client.
const (
	maxStreamsPerAccount = 8
	maxStreams           = 2000
	streamLifetime       = 10 * time.Minute
	streamPing           = 25 * time.Second
	streamWriteTimeout   = 15 * time.Second
)

type streamLimits struct {
	mu    sync.Mutex
	total int
	per   map[store.AccountID]int
}

func newStreamLimits() *streamLimits { return &streamLimits{per: map[store.AccountID]int{}} }

func (l *streamLimits) acquire(a store.AccountID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= maxStreams || l.per[a] >= maxStreamsPerAccount {
		return false
	}
	l.total++
	l.per[a]++
	return true
}

func (l *streamLimits) release(a store.AccountID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.per[a]--; l.per[a] <= 0 {
		delete(l.per, a)
	}
}

func (wm *Webmail) events(w http.ResponseWriter, r *http.Request, q *request) {
	if wm.activity.idleFor(q.sess, wm.o.Now()) > wm.o.Idle {
		wm.sessions.Destroy(w, r)
		http.Error(w, "session ended", http.StatusUnauthorized)
		return
	}
	if !wm.streams.acquire(q.acct.ID) {
		// 204 tells EventSource not to reconnect (HTML §9.2.3); the page
		// works on without live updates.
		q.log.Info("webmail: live-update stream refused: too many")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer wm.streams.release(q.acct.ID)
	rc := http.NewResponseController(w)
	events, cancel := wm.o.Store.Subscribe(q.acct.ID)
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	write := func(s string) bool {
		// The server's WriteTimeout is for pages; a stream sets its own
		// deadline for every write.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: 5000\n\n") {
		return
	}
	// A disabled account's stream ends at once (auth's session registry,
	// also told by the poll of account flags), and so do its sessions:
	// the page's next request goes to the login form.
	disabled := make(chan struct{})
	var once sync.Once
	if wm.o.Auth != nil {
		untrack := wm.o.Auth.Track(q.acct, func() {
			once.Do(func() {
				wm.sessions.DestroyAccount(q.acct.ID)
				close(disabled)
			})
		})
		defer untrack()
	}
	life := time.NewTimer(streamLifetime)
	defer life.Stop()
	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-wm.closing():
			return
		case <-life.C:
			return
		case <-disabled:
			_ = write("event: logout\ndata: disabled\n\n")
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !write(fmt.Sprintf("event: mailbox\ndata: %d\n\n", ev.Mailbox)) {
				return
			}
		case <-ping.C:
			if wm.activity.idleFor(q.sess, wm.o.Now()) > wm.o.Idle {
				_ = write("event: logout\ndata: idle\n\n")
				return
			}
			if !write(": ping\n\n") {
				return
			}
		}
	}
}
