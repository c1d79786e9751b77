package autoconfig

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Microsoft Autodiscover, "POX" (plain old XML) flavour, as Outlook uses
// it for IMAP/POP3 accounts: [MS-OXDSCLI] request and response schemas.
const (
	nsAutodiscoverResponse = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsOutlookResponse      = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// AutodiscoverRequest is the body Outlook POSTs. Names match in any
// namespace.
type AutodiscoverRequest struct {
	XMLName                  xml.Name `xml:"Autodiscover"`
	EMailAddress             string   `xml:"Request>EMailAddress"`
	AcceptableResponseSchema string   `xml:"Request>AcceptableResponseSchema"`
}

// ErrBadRequest is returned by ParseAutodiscoverRequest for a body that
// is not an Autodiscover request.
var ErrBadRequest = errors.New("not an Autodiscover request")

// ParseAutodiscoverRequest reads an Autodiscover request body (at most
// maxRequestBody bytes are read). It does not check the address.
func ParseAutodiscoverRequest(r io.Reader) (AutodiscoverRequest, error) {
	var req AutodiscoverRequest
	d := xml.NewDecoder(io.LimitReader(r, maxRequestBody))
	// encoding/xml expands no external entities; Strict stays on.
	if err := d.Decode(&req); err != nil {
		return AutodiscoverRequest{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	req.EMailAddress = strings.TrimSpace(req.EMailAddress)
	req.AcceptableResponseSchema = strings.TrimSpace(req.AcceptableResponseSchema)
	if req.EMailAddress == "" {
		return AutodiscoverRequest{}, fmt.Errorf("%w: no EMailAddress", ErrBadRequest)
	}
	return req, nil
}

// AutodiscoverResponse is the document root of an answer.
type AutodiscoverResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response any
}

// OutlookResponse carries the account settings.
type OutlookResponse struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	Account OutlookAccount
}

// OutlookAccount lists one Protocol per service.
type OutlookAccount struct {
	AccountType string
	Action      string
	Protocol    []OutlookProtocol
}

// OutlookProtocol is one server. SSL "on" with Encryption "SSL" is
// implicit TLS; Encryption "TLS" is STARTTLS ([MS-OXDSCLI] 2.2.4.1.1.2.2.9:
// Encryption overrides SSL when both are present).
type OutlookProtocol struct {
	Type           string // IMAP, POP3, SMTP
	Server         string
	Port           int
	DomainRequired string
	LoginName      string
	SPA            string
	SSL            string
	Encryption     string
	AuthRequired   string
	UsePOPAuth     string `xml:",omitempty"`
	SMTPLast       string `xml:",omitempty"`
}

// ErrorResponse is an Autodiscover error answer.
type ErrorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Error   AutodiscoverError
}

// AutodiscoverError is the error element.
type AutodiscoverError struct {
	Time      string `xml:"Time,attr"`
	ID        string `xml:"Id,attr"`
	ErrorCode int
	Message   string
	DebugData string
}

// Autodiscover builds the Outlook answer for an address: the preferred
// endpoint of each protocol (Outlook reads one per type), IMAP before
// POP3, user name the full address, SPA off.
func Autodiscover(s Settings, address string) AutodiscoverResponse {
	acct := OutlookAccount{AccountType: "email", Action: "settings"}
	proto := func(typ string, e Endpoint) OutlookProtocol {
		p := OutlookProtocol{
			Type: typ, Server: s.Hostname, Port: e.Port, DomainRequired: "off", LoginName: address,
			SPA: "off", SSL: "on", Encryption: "SSL", AuthRequired: "on",
		}
		if !e.ImplicitTLS() {
			p.Encryption = "TLS"
		}
		return p
	}
	if e, ok := s.Preferred(IMAP); ok {
		acct.Protocol = append(acct.Protocol, proto("IMAP", e))
	}
	if e, ok := s.Preferred(POP3); ok {
		acct.Protocol = append(acct.Protocol, proto("POP3", e))
	}
	if e, ok := s.Preferred(SMTP); ok {
		p := proto("SMTP", e)
		// The same user name and password as for incoming mail.
		p.UsePOPAuth, p.SMTPLast = "on", "off"
		acct.Protocol = append(acct.Protocol, p)
	}
	return AutodiscoverResponse{Response: OutlookResponse{Account: acct}}
}

func autodiscoverError(code int, msg string) AutodiscoverResponse {
	return AutodiscoverResponse{Response: ErrorResponse{Error: AutodiscoverError{
		Time: time.Now().UTC().Format("15:04:05.0000000"), ID: "0", ErrorCode: code, Message: msg,
	}}}
}

const autodiscoverCType = "text/xml; charset=utf-8"

func (h *Handler) autodiscoverPOX(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	req, err := ParseAutodiscoverRequest(r.Body)
	if err != nil {
		writeXML(w, http.StatusBadRequest, autodiscoverCType, autodiscoverError(600, "Invalid Request"))
		return
	}
	if req.AcceptableResponseSchema != "" && req.AcceptableResponseSchema != nsOutlookResponse {
		// ActiveSync (mobilesync) clients: we offer no such service.
		writeXML(w, http.StatusOK, autodiscoverCType, autodiscoverError(600, "Invalid Request"))
		return
	}
	address, _, err := h.lookup(r, req.EMailAddress)
	if err != nil {
		code, _ := h.status(r, err)
		writeXML(w, code, autodiscoverCType, autodiscoverError(600, "Invalid Request"))
		return
	}
	h.log(r).Debug("autoconfig: autodiscover", "address", address)
	writeXML(w, http.StatusOK, autodiscoverCType, Autodiscover(h.o.Settings(), address))
}

// autodiscoverGET answers a GET, which Outlook never sends for the POX
// protocol: it gets the same "Invalid Request" Exchange gives.
func (h *Handler) autodiscoverGET(w http.ResponseWriter, r *http.Request) {
	writeXML(w, http.StatusOK, autodiscoverCType, autodiscoverError(600, "Invalid Request"))
}

// AutodiscoverV2 is the JSON answer of Autodiscover v2: where to find the
// service asked for.
type AutodiscoverV2 struct {
	Protocol string `json:"Protocol,omitempty"`
	URL      string `json:"Url,omitempty"`

	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// autodiscoverJSON answers Autodiscover v2
// (/autodiscover/autodiscover.json?Email=A&Protocol=P, or
// .../autodiscover.json/v1.0/A?Protocol=P), which new Outlook asks
// first. We offer only AutodiscoverV1: the POX endpoint on our hostname.
func (h *Handler) autodiscoverJSON(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if email == "" {
		email = param(r, "Email", "emailaddress")
	}
	protocol := param(r, "Protocol")
	if _, _, err := h.lookup(r, email); err != nil {
		code, msg := h.status(r, err)
		writeJSON(w, code, AutodiscoverV2{ErrorCode: http.StatusText(code), ErrorMessage: msg})
		return
	}
	if !strings.EqualFold(protocol, "AutodiscoverV1") {
		writeJSON(w, http.StatusBadRequest, AutodiscoverV2{
			ErrorCode:    "InvalidProtocol",
			ErrorMessage: fmt.Sprintf("The given protocol value %q is invalid. Supported values are 'AutodiscoverV1'.", protocol),
		})
		return
	}
	writeJSON(w, http.StatusOK, AutodiscoverV2{Protocol: "AutodiscoverV1", URL: h.o.Settings().BaseURL() + "/autodiscover/autodiscover.xml"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
