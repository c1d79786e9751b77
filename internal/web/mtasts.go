package web

import (
	"net"
	"net/http"
	"strings"

	"mailhouse/internal/mailauth"
)

// mtaSTS serves the MTA-STS policy (RFC 8461 §3.2) at
// https://mta-sts.<domain>/.well-known/mta-sts.txt for hosted domains.
// Senders fetch it only over HTTPS with a certificate valid for that
// name, so it is not on the plain HTTP listener.
func (s *Server) mtaSTS(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	domain, ok := strings.CutPrefix(host, "mta-sts.")
	if !ok {
		http.NotFound(w, r)
		return
	}
	hosted, err := s.hosted(r.Context(), domain)
	if err != nil {
		http.Error(w, "temporary failure", http.StatusServiceUnavailable)
		return
	}
	if !hosted {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(mailauth.MTASTSPolicy(s.o.Hostname)))
}
