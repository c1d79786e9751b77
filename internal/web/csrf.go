package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

// CSRF defence for form posts, in two layers: the session cookie is
// SameSite=Strict, and every state-changing request must carry the
// session's token in the "csrf" form field (or the X-CSRF-Token header)
// and, when the browser sends one, an Origin of our own host.

// CSRFField is the form field name of the token.
const CSRFField = "csrf"

// CheckCSRF reports whether a POST (or other unsafe method) may act for
// the session. Call it after parsing the form. Safe methods pass.
func CheckCSRF(r *http.Request, sess *Session) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if !SameOrigin(r) {
		return false
	}
	tok := r.PostFormValue(CSRFField)
	if tok == "" {
		tok = r.Header.Get("X-CSRF-Token")
	}
	return sess != nil && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) == 1
}

// SameOrigin reports whether the request's Origin (or Sec-Fetch-Site)
// says it comes from a page of this host. Browsers send "Origin: null"
// for posts from pages whose Referrer-Policy is no-referrer (ours), and
// so do sandboxed frames: then Sec-Fetch-Site must say same-origin.
// Requests that carry neither header (old browsers, command-line
// clients) pass: the token is the check that always applies.
func SameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	switch o := r.Header.Get("Origin"); o {
	case "":
	case "null":
		return site == "same-origin"
	default:
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	switch site {
	case "", "same-origin", "none":
		return true
	}
	return false
}
