package autoconfig

import (
	"encoding/xml"
	"net/http"

	"mailhouse/internal/directory"
)

// Thunderbird's autoconfig format, version 1.1 (the "config-v1.1.xml"
// files of Mozilla's ISPDB). Only the elements we fill are modelled.

// ClientConfig is the document root.
type ClientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider EmailProvider `xml:"emailProvider"`
}

// EmailProvider describes one provider (here: one hosted domain).
type EmailProvider struct {
	ID               string         `xml:"id,attr"`
	Domain           []string       `xml:"domain"`
	DisplayName      string         `xml:"displayName"`
	DisplayShortName string         `xml:"displayShortName"`
	Incoming         []ServerConfig `xml:"incomingServer"`
	Outgoing         []ServerConfig `xml:"outgoingServer"`
	Documentation    *Documentation `xml:"documentation,omitempty"`
}

// ServerConfig is an incomingServer or outgoingServer element.
type ServerConfig struct {
	Type           string      `xml:"type,attr"` // imap, pop3, smtp
	Hostname       string      `xml:"hostname"`
	Port           int         `xml:"port"`
	SocketType     string      `xml:"socketType"` // SSL, STARTTLS, plain
	Username       string      `xml:"username"`
	Authentication string      `xml:"authentication"`
	POP3           *POP3Config `xml:"pop3,omitempty"`
}

// POP3Config holds Thunderbird's POP3-only settings.
type POP3Config struct {
	LeaveMessagesOnServer bool `xml:"leaveMessagesOnServer"`
	DownloadOnBiff        bool `xml:"downloadOnBiff"`
}

// Documentation links to a help page.
type Documentation struct {
	URL   string `xml:"url,attr"`
	Descr Descr  `xml:"descr"`
}

// Descr is a described link text.
type Descr struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

// socketType is Thunderbird's name for an endpoint's security.
func socketType(e Endpoint) string {
	if e.ImplicitTLS() {
		return "SSL"
	}
	return "STARTTLS"
}

// Thunderbird builds the autoconfig document for a domain (A-label).
// Every endpoint is listed, preferred first (Thunderbird tries them in
// order); the user name is %EMAILADDRESS%, which Thunderbird replaces by
// the address the user typed.
func Thunderbird(s Settings, domain string) ClientConfig {
	display := directory.DisplayDomain(domain)
	p := EmailProvider{
		ID:               domain,
		Domain:           []string{domain},
		DisplayName:      display + " mail (" + s.Hostname + ")",
		DisplayShortName: display,
		Documentation: &Documentation{
			URL:   s.BaseURL() + "/settings/" + domain,
			Descr: Descr{Lang: "en", Text: "Email settings for " + display},
		},
	}
	server := func(typ string, e Endpoint) ServerConfig {
		return ServerConfig{
			Type: typ, Hostname: s.Hostname, Port: e.Port, SocketType: socketType(e),
			Username: "%EMAILADDRESS%", Authentication: "password-cleartext",
		}
	}
	for _, e := range s.Of(IMAP) {
		p.Incoming = append(p.Incoming, server("imap", e))
	}
	for _, e := range s.Of(POP3) {
		sc := server("pop3", e)
		// The mailbox is shared with IMAP and webmail: keep mail there.
		sc.POP3 = &POP3Config{LeaveMessagesOnServer: true, DownloadOnBiff: true}
		p.Incoming = append(p.Incoming, sc)
	}
	for _, e := range s.Of(SMTP) {
		p.Outgoing = append(p.Outgoing, server("smtp", e))
	}
	return ClientConfig{Version: "1.1", Provider: p}
}

func (h *Handler) thunderbird(w http.ResponseWriter, r *http.Request) {
	_, domain, err := h.lookup(r, param(r, "emailaddress"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Debug("autoconfig: thunderbird", "domain", domain)
	writeXML(w, http.StatusOK, "application/xml; charset=utf-8", Thunderbird(h.o.Settings(), domain))
}

// writeXML writes v with an XML declaration.
func writeXML(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}
