package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// server is what a client should be told about one listener.
type server struct {
	Proto string // imap, pop3, smtp
	Port  int
	TLS   bool // implicit TLS (else STARTTLS)
}

func (s server) String() string { return fmt.Sprintf("%s:%d:tls=%v", s.Proto, s.Port, s.TLS) }

// expected reads the servers straight from the config's listen lists, in
// the order clients should try them: implicit TLS first (RFC 8314), then
// by port.
func expected(cfg *config.Config, proto string) []server {
	var out []server
	add := func(addrs []string, tls bool) {
		var ps []int
		for _, a := range addrs {
			p, _ := strconv.Atoi(a[strings.LastIndexByte(a, ':')+1:])
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			out = append(out, server{proto, p, tls})
		}
	}
	switch proto {
	case "imap":
		add(cfg.Listen.IMAPS, true)
		add(cfg.Listen.IMAP, false)
	case "pop3":
		add(cfg.Listen.POP3S, true)
		add(cfg.Listen.POP3, false)
	case "smtp":
		add(cfg.Listen.Submissions, true)
		add(cfg.Listen.Submission, false)
	}
	return out
}

func twoDomains(t *testing.T) *testenv.Stack {
	st := testenv.NewStack(t, "alice")
	if _, err := st.Store.AddDomain(context.Background(), "second.test"); err != nil {
		t.Fatal(err)
	}
	return st
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// tbSchema is the element structure Thunderbird's autoconfig reader
// expects (config-v1.1.xml as documented for the ISPDB): allowed
// children of each element, and which of them must be there.
var tbSchema = map[string]struct{ allowed, required []string }{
	"clientConfig":   {[]string{"emailProvider"}, []string{"emailProvider"}},
	"emailProvider":  {[]string{"domain", "displayName", "displayShortName", "incomingServer", "outgoingServer", "documentation"}, []string{"domain", "incomingServer", "outgoingServer"}},
	"incomingServer": {[]string{"hostname", "port", "socketType", "username", "authentication", "pop3"}, []string{"hostname", "port", "socketType", "username", "authentication"}},
	"outgoingServer": {[]string{"hostname", "port", "socketType", "username", "authentication", "addThisServer", "useGlobalPreferredServer"}, []string{"hostname", "port", "socketType", "username", "authentication"}},
	"pop3":           {[]string{"leaveMessagesOnServer", "downloadOnBiff", "daysToLeaveMessagesOnServer"}, nil},
	"documentation":  {[]string{"descr"}, nil},
}

type node struct {
	name     string
	attrs    map[string]string
	text     string
	children []*node
}

func parseTree(t *testing.T, doc string) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += strings.TrimSpace(string(tk))
			}
		}
	}
	return root
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func validateThunderbird(t *testing.T, n *node) {
	t.Helper()
	sch, ok := tbSchema[n.name]
	if !ok {
		return // leaf
	}
	for _, c := range n.children {
		if !slices.Contains(sch.allowed, c.name) {
			t.Errorf("<%s> may not contain <%s>", n.name, c.name)
		}
		validateThunderbird(t, c)
	}
	for _, r := range sch.required {
		if n.child(r) == nil {
			t.Errorf("<%s> lacks <%s>", n.name, r)
		}
	}
	switch n.name {
	case "clientConfig":
		if n.attrs["version"] != "1.1" {
			t.Errorf("clientConfig version %q", n.attrs["version"])
		}
	case "incomingServer", "outgoingServer":
		typ := n.attrs["type"]
		if (n.name == "incomingServer") != (typ == "imap" || typ == "pop3") || (n.name == "outgoingServer") != (typ == "smtp") {
			t.Errorf("<%s type=%q>", n.name, typ)
		}
		if st := n.child("socketType").text; st != "SSL" && st != "STARTTLS" && st != "plain" {
			t.Errorf("socketType %q", st)
		}
		if a := n.child("authentication").text; a != "password-cleartext" {
			t.Errorf("authentication %q (SPA/NTLM must stay off)", a)
		}
		if p, err := strconv.Atoi(n.child("port").text); err != nil || p <= 0 || p > 65535 {
			t.Errorf("port %q", n.child("port").text)
		}
	}
}

func TestThunderbirdAutoconfig(t *testing.T) {
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	for _, domain := range []string{"example.test", "second.test"} {
		urls := []struct {
			name string
			u    string
			hdr  []string
		}{
			{"well-known over https", s.https + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob%40" + domain, nil},
			// Thunderbird's first try: http://autoconfig.<domain>/mail/config-v1.1.xml
			{"autoconfig host over http", s.http + "/mail/config-v1.1.xml", []string{"Host", "autoconfig." + domain}},
			{"emailaddress over http", s.http + "/mail/config-v1.1.xml?emailaddress=Bob%40" + strings.ToUpper(domain), nil},
		}
		for _, tc := range urls {
			t.Run(domain+"/"+tc.name, func(t *testing.T) {
				code, hdr, body := get(t, s.client, tc.u, tc.hdr...)
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				if ct := hdr.Get("Content-Type"); !strings.Contains(ct, "xml") {
					t.Errorf("Content-Type %q", ct)
				}
				root := parseTree(t, body)
				if root.name != "clientConfig" {
					t.Fatalf("root <%s>", root.name)
				}
				validateThunderbird(t, root)
				p := root.child("emailProvider")
				if p.attrs["id"] != domain || p.child("domain").text != domain {
					t.Errorf("provider id %q domain %q, want %s", p.attrs["id"], p.child("domain").text, domain)
				}
				var in, out []server
				for _, n := range p.all("incomingServer") {
					in = append(in, checkTBServer(t, n, s.cfg))
				}
				for _, n := range p.all("outgoingServer") {
					out = append(out, checkTBServer(t, n, s.cfg))
				}
				wantIn := append(expected(s.cfg, "imap"), expected(s.cfg, "pop3")...)
				if !slices.Equal(in, wantIn) {
					t.Errorf("incoming servers %v, want %v", in, wantIn)
				}
				if want := expected(s.cfg, "smtp"); !slices.Equal(out, want) {
					t.Errorf("outgoing servers %v, want %v", out, want)
				}
			})
		}
	}
}

func checkTBServer(t *testing.T, n *node, cfg *config.Config) server {
	t.Helper()
	if h := n.child("hostname").text; h != cfg.Hostname {
		t.Errorf("hostname %q, want %q", h, cfg.Hostname)
	}
	if u := n.child("username").text; u != "%EMAILADDRESS%" {
		t.Errorf("username %q", u)
	}
	p, _ := strconv.Atoi(n.child("port").text)
	return server{n.attrs["type"], p, n.child("socketType").text == "SSL"}
}

func TestThunderbirdWithCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	// What Thunderbird does first: plain HTTP to autoconfig.<domain>.
	out, err := exec.Command(curl, "-sS", "--fail", "--resolve", "autoconfig.second.test:"+port2(s.plainAddress)+":127.0.0.1",
		"http://autoconfig.second.test:"+port2(s.plainAddress)+"/mail/config-v1.1.xml?emailaddress=carol%40second.test").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	root := parseTree(t, string(out))
	validateThunderbird(t, root)
	if got := len(root.child("emailProvider").all("incomingServer")); got != 4 {
		t.Errorf("%d incoming servers", got)
	}
	// Over HTTPS with the CA file, as a client that checks certificates.
	out, err = exec.Command(curl, "-sS", "--fail", "--cacert", st.CertFile,
		s.https+"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=carol%40second.test").CombinedOutput()
	if err != nil {
		t.Fatalf("curl https: %v\n%s", err, out)
	}
	validateThunderbird(t, parseTree(t, string(out)))
}

func port2(hostport string) string { return hostport[strings.LastIndexByte(hostport, ':')+1:] }

func TestAutoconfigRefusals(t *testing.T) {
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	cases := []struct {
		name string
		u    string
		hdr  []string
		code int
	}{
		{"unknown domain", s.https + "/mail/config-v1.1.xml?emailaddress=a%40elsewhere.test", nil, 404},
		{"malformed address", s.https + "/mail/config-v1.1.xml?emailaddress=no-at-sign", nil, 400},
		{"no address, not an autoconfig host", s.https + "/mail/config-v1.1.xml", nil, 400},
		{"autoconfig host of an unknown domain", s.http + "/mail/config-v1.1.xml", []string{"Host", "autoconfig.elsewhere.test"}, 404},
		{"mobileconfig without address", s.https + "/apple/mail.mobileconfig", nil, 400},
		{"mobileconfig unknown domain", s.https + "/apple/mail.mobileconfig?emailaddress=a%40elsewhere.test", nil, 404},
		{"settings of an unknown domain", s.https + "/settings/elsewhere.test", nil, 404},
		{"json unknown domain", s.https + "/autodiscover/autodiscover.json?Email=a%40elsewhere.test&Protocol=AutodiscoverV1", nil, 404},
		{"json other protocol", s.https + "/autodiscover/autodiscover.json/v1.0/a%40second.test?Protocol=ActiveSync", nil, 400},
		{"settings page is https only", s.http + "/settings", nil, 301},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, s.client, tc.u, tc.hdr...)
			if code != tc.code {
				t.Errorf("status %d, want %d: %s", code, tc.code, body)
			}
			if strings.Contains(body, "alice") {
				t.Errorf("answer names an account: %s", body)
			}
		})
	}
}

const autodiscoverRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

func postXML(t *testing.T, c *http.Client, u, body string) (int, string) {
	t.Helper()
	resp, err := c.Post(u, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAutodiscover(t *testing.T) {
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	for _, domain := range []string{"example.test", "second.test"} {
		addr := "dave@" + domain
		for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
			t.Run(domain+path, func(t *testing.T) {
				code, body := postXML(t, s.client, s.https+path, fmt.Sprintf(autodiscoverRequest, addr))
				if code != 200 {
					t.Fatalf("status %d: %s", code, body)
				}
				root := parseTree(t, body)
				resp := root.child("Response")
				if root.name != "Autodiscover" || resp == nil || resp.child("Account") == nil {
					t.Fatalf("unexpected document:\n%s", body)
				}
				if !strings.Contains(body, `xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"`) {
					t.Errorf("Response lacks the Outlook namespace:\n%s", body)
				}
				acct := resp.child("Account")
				if acct.child("AccountType").text != "email" || acct.child("Action").text != "settings" {
					t.Errorf("AccountType/Action: %s", body)
				}
				var got []server
				for _, p := range acct.all("Protocol") {
					typ := strings.ToLower(p.child("Type").text)
					port, _ := strconv.Atoi(p.child("Port").text)
					enc := p.child("Encryption").text
					got = append(got, server{typ, port, enc == "SSL"})
					for k, want := range map[string]string{"Server": s.cfg.Hostname, "LoginName": addr, "SPA": "off", "AuthRequired": "on", "SSL": "on", "DomainRequired": "off"} {
						if v := p.child(k); v == nil || v.text != want {
							t.Errorf("%s %s = %v, want %q", typ, k, v, want)
						}
					}
					if enc != "SSL" && enc != "TLS" {
						t.Errorf("%s Encryption %q", typ, enc)
					}
					if typ == "smtp" && p.child("UsePOPAuth").text != "on" {
						t.Errorf("SMTP must use the incoming credentials")
					}
				}
				// One per type, the preferred endpoint of each.
				want := []server{expected(s.cfg, "imap")[0], expected(s.cfg, "pop3")[0], expected(s.cfg, "smtp")[0]}
				if !slices.Equal(got, want) {
					t.Errorf("protocols %v, want %v", got, want)
				}
			})
		}
	}
	t.Run("unknown domain", func(t *testing.T) {
		code, body := postXML(t, s.client, s.https+"/autodiscover/autodiscover.xml", fmt.Sprintf(autodiscoverRequest, "x@elsewhere.test"))
		if code != 404 || !strings.Contains(body, "<ErrorCode>600</ErrorCode>") {
			t.Errorf("status %d: %s", code, body)
		}
	})
	t.Run("not XML", func(t *testing.T) {
		code, body := postXML(t, s.client, s.https+"/autodiscover/autodiscover.xml", "hello")
		if code != 400 || !strings.Contains(body, "<ErrorCode>600</ErrorCode>") {
			t.Errorf("status %d: %s", code, body)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := fmt.Sprintf(autodiscoverRequest, "x@second.test"+strings.Repeat(" ", 20<<10))
		code, _ := postXML(t, s.client, s.https+"/autodiscover/autodiscover.xml", big)
		if code != 400 {
			t.Errorf("status %d for a 20 KiB request", code)
		}
	})
	t.Run("JSON v2", func(t *testing.T) {
		for _, u := range []string{
			"/autodiscover/autodiscover.json?Email=dave%40second.test&Protocol=AutodiscoverV1&RedirectFormat=true",
			"/autodiscover/autodiscover.json/v1.0/dave%40example.test?Protocol=AutodiscoverV1",
		} {
			code, _, body := get(t, s.client, s.https+u)
			var v struct{ Protocol, Url string }
			if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
				t.Fatalf("%s: status %d %v: %s", u, code, err, body)
			}
			if v.Protocol != "AutodiscoverV1" || v.Url != "https://mail.example.test:8443/autodiscover/autodiscover.xml" {
				t.Errorf("%s: %+v", u, v)
			}
		}
	})
}

func TestAppleMobileconfig(t *testing.T) {
	python := testutil.NeedTool(t, "python3")
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	for _, domain := range []string{"example.test", "second.test"} {
		t.Run(domain, func(t *testing.T) {
			addr := "erin@" + domain
			code, hdr, body := get(t, s.client, s.https+"/apple/mail.mobileconfig?emailaddress="+url.QueryEscape(addr))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/x-apple-aspen-config" {
				t.Errorf("Content-Type %q", ct)
			}
			// Parse with a real plist reader.
			cmd := exec.Command(python, "-c", `import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))`)
			cmd.Stdin = strings.NewReader(body)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("plistlib: %v\n%s\n%s", err, out, body)
			}
			var prof struct {
				PayloadType    string
				PayloadContent []map[string]any
			}
			if err := json.Unmarshal(out, &prof); err != nil {
				t.Fatal(err)
			}
			if prof.PayloadType != "Configuration" || len(prof.PayloadContent) != 1 {
				t.Fatalf("profile: %s", out)
			}
			p := prof.PayloadContent[0]
			imap, smtp := expected(s.cfg, "imap")[0], expected(s.cfg, "smtp")[0]
			want := map[string]any{
				"PayloadType":                            "com.apple.mail.managed",
				"EmailAccountType":                       "EmailTypeIMAP",
				"EmailAddress":                           addr,
				"IncomingMailServerHostName":             s.cfg.Hostname,
				"IncomingMailServerPortNumber":           float64(imap.Port),
				"IncomingMailServerUseSSL":               true,
				"IncomingMailServerUsername":             addr,
				"IncomingMailServerAuthentication":       "EmailAuthPassword",
				"OutgoingMailServerHostName":             s.cfg.Hostname,
				"OutgoingMailServerPortNumber":           float64(smtp.Port),
				"OutgoingMailServerUseSSL":               true,
				"OutgoingMailServerUsername":             addr,
				"OutgoingPasswordSameAsIncomingPassword": true,
			}
			for k, v := range want {
				if p[k] != v {
					t.Errorf("%s = %v, want %v", k, p[k], v)
				}
			}
			for k := range p {
				if strings.Contains(strings.ToLower(k), "password") && k != "OutgoingPasswordSameAsIncomingPassword" {
					t.Errorf("profile embeds %s", k)
				}
			}
			// Downloading again gives the same identity (replaces, not adds).
			_, _, again := get(t, s.client, s.https+"/apple/mail.mobileconfig?emailaddress="+url.QueryEscape(addr))
			if again != body {
				t.Error("profile differs between downloads")
			}
		})
	}
}

var endpointRow = regexp.MustCompile(`data-protocol="(\w+)" data-port="(\d+)" data-security="([^"]+)"`)

func TestSettingsPage(t *testing.T) {
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	for _, path := range []string{"/", "/settings", "/settings/second.test", "/settings/example.test"} {
		t.Run(path, func(t *testing.T) {
			code, hdr, body := get(t, s.client, s.https+path)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			if hdr.Get("Content-Security-Policy") == "" {
				t.Error("no CSP")
			}
			var got []server
			for _, m := range endpointRow.FindAllStringSubmatch(body, -1) {
				p, _ := strconv.Atoi(m[2])
				got = append(got, server{strings.ToLower(m[1]), p, m[3] == "SSL/TLS"})
				if m[3] != "SSL/TLS" && m[3] != "STARTTLS" {
					t.Errorf("security %q", m[3])
				}
			}
			want := slices.Concat(expected(s.cfg, "imap"), expected(s.cfg, "pop3"), expected(s.cfg, "smtp"))
			if !slices.Equal(got, want) {
				t.Errorf("page lists %v, want %v", got, want)
			}
			for _, must := range []string{
				"mail.example.test",
				"Outgoing server requires authentication: <strong>yes, same user name and password as incoming</strong>",
				"Secure Password Authentication (SPA): off",
				"full email address",
				"Leave a copy of messages on the server",
				"keeps them until you delete them",
				"/autodiscover/autodiscover.xml",
			} {
				if !strings.Contains(body, must) {
					t.Errorf("page lacks %q", must)
				}
			}
			if strings.HasPrefix(path, "/settings/") {
				d := strings.TrimPrefix(path, "/settings/")
				if !strings.Contains(body, "you@"+d) || !strings.Contains(body, "config-v1.1.xml?emailaddress=you%40"+d) {
					t.Errorf("page for %s lacks its user name example or autoconfig link", d)
				}
			}
		})
	}
}

// TestSettingsFollowConfig: change a port, restart, the page changes.
func TestSettingsFollowConfig(t *testing.T) {
	st := twoDomains(t)
	s := startWeb(t, st, parseConfig(t, testConfig), nil)
	_, _, before := get(t, s.client, s.https+"/settings")
	if !strings.Contains(before, `data-port="2993"`) {
		t.Fatal("page lacks the configured IMAPS port")
	}
	ctx := context.Background()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, strings.Replace(testConfig, `imaps = ["[::]:2993"]`, `imaps = ["[::]:3993"]`, 1))
	s2 := startWeb(t, st, cfg, nil)
	_, _, after := get(t, s2.client, s2.https+"/settings")
	if strings.Contains(after, `data-port="2993"`) || !strings.Contains(after, `data-port="3993"`) {
		t.Error("page did not follow the new port")
	}
	_, _, tb := get(t, s2.client, s2.https+"/mail/config-v1.1.xml?emailaddress=a%40example.test")
	if !strings.Contains(tb, "<port>3993</port>") {
		t.Error("autoconfig did not follow the new port")
	}
}
