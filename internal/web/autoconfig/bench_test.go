package autoconfig

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func benchHandler() *http.ServeMux {
	s := testSettings()
	h := New(Options{
		Settings: func() Settings { return s },
		Hosted:   func(context.Context, string) (bool, error) { return true, nil },
	})
	mux := http.NewServeMux()
	h.RegisterDocuments(mux)
	h.RegisterPages(mux)
	return mux
}

func BenchmarkThunderbirdHTTP(b *testing.B) {
	mux := benchHandler()
	req := httptest.NewRequest("GET", "/mail/config-v1.1.xml?emailaddress=a%40example.com", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkAutodiscoverHTTP(b *testing.B) {
	mux := benchHandler()
	body := `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>a@example.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", strings.NewReader(body)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkMobileConfig(b *testing.B) {
	s := testSettings()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MobileConfig(s, "a@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSettingsPage(b *testing.B) {
	mux := benchHandler()
	req := httptest.NewRequest("GET", "/settings/example.com", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkThunderbirdMarshal(b *testing.B) {
	s := testSettings()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xml.Marshal(Thunderbird(s, "example.com")); err != nil {
			b.Fatal(err)
		}
	}
}
