package autoconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"mailhouse/internal/directory"
)

// Apple configuration profile (Configuration Profile Reference, payload
// com.apple.mail.managed): one email account, IMAP (or POP3 when no IMAP
// listener exists) and SMTP, SSL on, no password embedded, so iOS and
// macOS ask for it on install.

// errNoIncoming: the config has neither IMAP nor POP3 listeners.
var errNoIncoming = errors.New("no IMAP or POP3 service is configured")

// MobileConfig builds the profile for an address; it fails only when the
// server has no incoming mail service.
func MobileConfig(s Settings, address string) ([]byte, error) {
	in, ok := s.Preferred(IMAP)
	kind := "EmailTypeIMAP"
	if !ok {
		if in, ok = s.Preferred(POP3); !ok {
			return nil, errNoIncoming
		}
		kind = "EmailTypePOP"
	}
	_, domain, err := directory.Split(address)
	if err != nil {
		return nil, err
	}
	ident := "mailhouse." + reverseDNS(s.Hostname) + "." + address
	account := plistDict{
		{"EmailAccountDescription", directory.DisplayAddress(address)},
		{"EmailAccountName", directory.DisplayAddress(address)},
		{"EmailAccountType", kind},
		{"EmailAddress", address},
		{"IncomingMailServerAuthentication", "EmailAuthPassword"},
		{"IncomingMailServerHostName", s.Hostname},
		{"IncomingMailServerPortNumber", in.Port},
		// iOS: UseSSL on a port that is not implicit TLS means STARTTLS.
		{"IncomingMailServerUseSSL", true},
		{"IncomingMailServerUsername", address},
	}
	if out, ok := s.Preferred(SMTP); ok {
		account = append(account, plistDict{
			{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
			{"OutgoingMailServerHostName", s.Hostname},
			{"OutgoingMailServerPortNumber", out.Port},
			{"OutgoingMailServerUseSSL", true},
			{"OutgoingMailServerUsername", address},
			{"OutgoingPasswordSameAsIncomingPassword", true},
		}...)
	}
	account = append(account, plistDict{
		{"PayloadDescription", "Email account " + directory.DisplayAddress(address)},
		{"PayloadDisplayName", directory.DisplayAddress(address)},
		{"PayloadIdentifier", ident + ".email"},
		{"PayloadType", "com.apple.mail.managed"},
		{"PayloadUUID", profileUUID(ident, "email")},
		{"PayloadVersion", 1},
		{"PreventAppSheet", false},
		{"PreventMove", false},
		{"SMIMEEnabled", false},
	}...)
	profile := plistDict{
		{"PayloadContent", []any{account}},
		{"PayloadDescription", "Sets up " + directory.DisplayAddress(address) + " on " + s.Hostname + ". You will be asked for the password."},
		{"PayloadDisplayName", "Email (" + directory.DisplayDomain(domain) + ")"},
		{"PayloadIdentifier", ident},
		{"PayloadOrganization", directory.DisplayDomain(domain)},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", profileUUID(ident, "profile")},
		{"PayloadVersion", 1},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	writePlist(&b, profile, 0)
	b.WriteString("</plist>\n")
	return b.Bytes(), nil
}

// reverseDNS turns mail.example.com into com.example.mail.
func reverseDNS(host string) string {
	parts := strings.Split(host, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}

// profileUUID derives a stable UUID from the profile identity, so that
// downloading the profile again replaces the installed one rather than
// adding a second account.
func profileUUID(ident, part string) string {
	h := sha256.Sum256([]byte(ident + "\x00" + part))
	h[6] = h[6]&0x0f | 0x50 // name-based version bits
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// plistDict is an ordered plist dictionary.
type plistDict []plistEntry

type plistEntry struct {
	Key   string
	Value any // string, int, bool, plistDict, []any
}

func writePlist(b *bytes.Buffer, v any, depth int) {
	ind := strings.Repeat("\t", depth)
	switch v := v.(type) {
	case plistDict:
		b.WriteString(ind + "<dict>\n")
		for _, e := range v {
			b.WriteString(ind + "\t<key>")
			_ = xml.EscapeText(b, []byte(e.Key))
			b.WriteString("</key>\n")
			writePlist(b, e.Value, depth+1)
		}
		b.WriteString(ind + "</dict>\n")
	case []any:
		b.WriteString(ind + "<array>\n")
		for _, x := range v {
			writePlist(b, x, depth+1)
		}
		b.WriteString(ind + "</array>\n")
	case string:
		b.WriteString(ind + "<string>")
		_ = xml.EscapeText(b, []byte(v))
		b.WriteString("</string>\n")
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", ind, v)
	case bool:
		if v {
			b.WriteString(ind + "<true/>\n")
		} else {
			b.WriteString(ind + "<false/>\n")
		}
	default:
		panic(fmt.Sprintf("plist: unsupported type %T", v))
	}
}

func (h *Handler) mobileconfig(w http.ResponseWriter, r *http.Request) {
	addr := param(r, "emailaddress", "email")
	if strings.TrimSpace(addr) == "" {
		h.fail(w, r, errNoAddress)
		return
	}
	address, domain, err := h.lookup(r, addr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := MobileConfig(h.o.Settings(), address)
	if errors.Is(err, errNoIncoming) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Debug("autoconfig: mobileconfig", "address", address)
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+domain+`.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
