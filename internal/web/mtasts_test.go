package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"mailhouse/internal/testenv"
)

func TestMTASTSPolicy(t *testing.T) {
	s := testenv.Start(t, "")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.ClientTLS}}
	url := "https://" + s.Addr(t, "https") + "/.well-known/mta-sts.txt"
	for _, tc := range []struct {
		host string
		code int
	}{
		{"mta-sts.example.test", 200},
		{"MTA-STS.Example.Test:443", 200},
		{"mta-sts.other.test", 404},
		{"mail.example.test", 404},
	} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = tc.host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: status %d, want %d", tc.host, resp.StatusCode, tc.code)
			continue
		}
		if tc.code == http.StatusOK {
			if !strings.HasPrefix(string(body), "version: STSv1\r\n") || !strings.Contains(string(body), "mx: "+testenv.Hostname+"\r\n") || resp.Header.Get("Content-Type") != "text/plain" {
				t.Errorf("%s: policy %q (%s)", tc.host, body, resp.Header.Get("Content-Type"))
			}
		}
	}
	// Not over plain HTTP (RFC 8461 §3.3): that redirects to HTTPS.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+s.Addr(t, "http")+"/.well-known/mta-sts.txt", nil)
	req.Host = "mta-sts.example.test"
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("plain HTTP: status %d, want a redirect", resp.StatusCode)
	}
}
