package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// login creates a session and returns a request carrying its cookie.
func login(t *testing.T, s *Sessions, id store.AccountID) (*Session, *http.Request) {
	t.Helper()
	w := httptest.NewRecorder()
	sess := s.Create(w, store.Account{ID: id, Address: "a@example.test"})
	r := httptest.NewRequest("GET", "https://x/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return sess, r
}

func TestSessions(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	s := NewSessions(SessionOptions{Cookie: "t", Idle: time.Minute, Max: time.Hour, Limit: 3, Now: c.now})
	sess, r := login(t, s, 1)
	if got, ok := s.Get(r); !ok || got != sess {
		t.Fatal("session not found")
	}
	// Idle time-out, refreshed by use.
	c.t = c.t.Add(50 * time.Second)
	if _, ok := s.Get(r); !ok {
		t.Fatal("ended too early")
	}
	c.t = c.t.Add(50 * time.Second)
	if _, ok := s.Get(r); !ok {
		t.Fatal("use did not refresh the idle time")
	}
	c.t = c.t.Add(61 * time.Second)
	if _, ok := s.Get(r); ok {
		t.Fatal("idle session still alive")
	}
	// Hard limit regardless of use.
	_, r = login(t, s, 1)
	for range 62 {
		c.t = c.t.Add(59 * time.Second)
		s.Get(r)
	}
	if _, ok := s.Get(r); ok {
		t.Fatal("session outlived Max")
	}
	// The limit on live sessions drops the least recently used.
	_, r1 := login(t, s, 1)
	c.t = c.t.Add(time.Second)
	_, r2 := login(t, s, 2)
	c.t = c.t.Add(time.Second)
	_, r3 := login(t, s, 3)
	c.t = c.t.Add(time.Second)
	s.Get(r1)
	c.t = c.t.Add(time.Second)
	_, r4 := login(t, s, 4)
	if _, ok := s.Get(r2); ok {
		t.Error("least recently used session kept past the limit")
	}
	for _, r := range []*http.Request{r1, r3, r4} {
		if _, ok := s.Get(r); !ok {
			t.Error("a recent session was dropped")
		}
	}
	if s.Len() != 3 {
		t.Errorf("Len %d", s.Len())
	}
	s.DestroyAccount(3)
	if _, ok := s.Get(r3); ok {
		t.Error("DestroyAccount left a session")
	}
	// Flash is read once.
	sess, _ = s.Get(r1)
	s.SetFlash(sess, "done")
	if s.TakeFlash(sess) != "done" || s.TakeFlash(sess) != "" {
		t.Error("flash not one-time")
	}
	// A forged cookie finds nothing.
	bad := httptest.NewRequest("GET", "https://x/", nil)
	bad.AddCookie(&http.Cookie{Name: "__Host-t", Value: RandomToken()})
	if _, ok := s.Get(bad); ok {
		t.Error("forged cookie accepted")
	}
}

func TestCheckCSRF(t *testing.T) {
	sess := &Session{CSRF: "tok"}
	post := func(form url.Values, hdr ...string) *http.Request {
		r := httptest.NewRequest("POST", "https://mail.example.test/admin/x", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return r
	}
	cases := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"token, no origin", post(url.Values{"csrf": {"tok"}}), true},
		{"token, same origin", post(url.Values{"csrf": {"tok"}}, "Origin", "https://mail.example.test"), true},
		{"token, null origin, same-origin fetch", post(url.Values{"csrf": {"tok"}}, "Origin", "null", "Sec-Fetch-Site", "same-origin"), true},
		{"token in header", post(nil, "X-CSRF-Token", "tok"), true},
		{"no token", post(url.Values{}), false},
		{"wrong token", post(url.Values{"csrf": {"toke"}}), false},
		{"foreign origin", post(url.Values{"csrf": {"tok"}}, "Origin", "https://evil.example"), false},
		{"null origin alone", post(url.Values{"csrf": {"tok"}}, "Origin", "null"), false},
		{"cross-site fetch", post(url.Values{"csrf": {"tok"}}, "Sec-Fetch-Site", "cross-site"), false},
		{"GET passes", httptest.NewRequest("GET", "https://mail.example.test/admin/", nil), true},
	}
	for _, tc := range cases {
		if got := CheckCSRF(tc.r, sess); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if CheckCSRF(post(url.Values{"csrf": {""}}), &Session{}) {
		t.Error("empty tokens matched")
	}
}
