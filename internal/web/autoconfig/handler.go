package autoconfig

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"mailhouse/internal/directory"
)

// Options configure a Handler.
type Options struct {
	// Settings returns the current settings; it is called on every
	// request, so a handler built once follows a reloaded config.
	Settings func() Settings
	// Hosted reports whether a domain (A-label form) is hosted here.
	Hosted func(ctx context.Context, domain string) (bool, error)
	Logger *slog.Logger
	// RequestLogger, if set, returns the logger of a request (with its
	// request id); Logger is used otherwise.
	RequestLogger func(*http.Request) *slog.Logger
}

// Handler serves the auto-configuration documents and the settings page.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestLogger == nil {
		o.RequestLogger = func(*http.Request) *slog.Logger { return o.Logger }
	}
	return &Handler{o: o}
}

func (h *Handler) log(r *http.Request) *slog.Logger { return h.o.RequestLogger(r) }

// maxRequestBody bounds an Autodiscover POST (a real one is under 1 KiB).
const maxRequestBody = 16 << 10

// RegisterDocuments adds the client auto-configuration routes, which
// answer over plain HTTP too: Thunderbird asks
// http://autoconfig.<domain>/mail/config-v1.1.xml first.
func (h *Handler) RegisterDocuments(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", h.thunderbird)
	mux.HandleFunc("GET /mail/config-v1.1.xml", h.thunderbird)
	// Outlook writes the path in either case; ServeMux is case-sensitive.
	for _, p := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"} {
		mux.HandleFunc("POST "+p, h.autodiscoverPOX)
		mux.HandleFunc("GET "+p, h.autodiscoverGET)
	}
	for _, p := range []string{"/autodiscover/autodiscover.json", "/Autodiscover/Autodiscover.json"} {
		mux.HandleFunc("GET "+p, h.autodiscoverJSON)
		mux.HandleFunc("GET "+p+"/v1.0/{email}", h.autodiscoverJSON)
	}
	mux.HandleFunc("GET /apple/mail.mobileconfig", h.mobileconfig)
}

// RegisterPages adds the settings help pages (HTTPS only): "/",
// "/settings" and "/settings/{domain}".
func (h *Handler) RegisterPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.settingsPage)
	mux.HandleFunc("GET /settings", h.settingsPage)
	mux.HandleFunc("GET /settings/{domain}", h.settingsPage)
}

// Errors of lookup, mapped to HTTP statuses by the handlers.
var (
	errNoAddress  = errors.New("no email address given")
	errNotHosted  = errors.New("domain not hosted here")
	errBadAddress = directory.ErrBadAddress
)

// lookup checks an address (or, when addr is empty, takes the domain
// from the Host header: autoconfig.<domain> or autodiscover.<domain>)
// and returns the normalised address (may be empty) and domain.
func (h *Handler) lookup(r *http.Request, addr string) (address, domain string, err error) {
	addr = strings.TrimSpace(addr)
	if addr != "" {
		address, err = directory.Normalize(addr)
		if err != nil {
			return "", "", err
		}
		_, domain, _ = directory.Split(address)
	} else {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		var ok bool
		for _, p := range []string{"autoconfig.", "autodiscover."} {
			if d, found := strings.CutPrefix(host, p); found {
				host, ok = d, true
			}
		}
		if !ok {
			return "", "", errNoAddress
		}
		if domain, err = directory.NormalizeDomain(host); err != nil {
			return "", "", errNoAddress
		}
	}
	if err := h.hosted(r.Context(), domain); err != nil {
		return "", "", err
	}
	return address, domain, nil
}

func (h *Handler) hosted(ctx context.Context, domain string) error {
	ok, err := h.o.Hosted(ctx, domain)
	if err != nil {
		return err
	}
	if !ok {
		return errNotHosted
	}
	return nil
}

// status maps a lookup error to an HTTP status and a short message safe
// to show.
func (h *Handler) status(r *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, errNoAddress):
		return http.StatusBadRequest, "missing emailaddress parameter"
	case errors.Is(err, errBadAddress):
		return http.StatusBadRequest, "malformed email address"
	case errors.Is(err, errNotHosted):
		return http.StatusNotFound, "this server does not host that domain"
	}
	h.log(r).Error("autoconfig: lookup failed", "err", err)
	return http.StatusInternalServerError, "internal error"
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := h.status(r, err)
	http.Error(w, msg, code)
}

// param returns a query parameter by case-insensitive name (clients
// differ: emailaddress, EmailAddress, Email).
func param(r *http.Request, names ...string) string {
	q := r.URL.Query()
	for k, v := range q {
		for _, n := range names {
			if strings.EqualFold(k, n) && len(v) > 0 {
				return v[0]
			}
		}
	}
	return ""
}
