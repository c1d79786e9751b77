package admin_test

import (
	"io"
	"testing"
)

// BenchmarkAPIListAccounts measures an authenticated API read end to end
// (TLS connection reused, token check, store reads, JSON).
func BenchmarkAPIListAccounts(b *testing.B) {
	e := start(b)
	c := e.client()
	b.ReportAllocs()
	for b.Loop() {
		req := newAPIRequest(b, e, "GET", "/accounts?domain=example.test")
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
