package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"mailhouse/internal/store"
	"mailhouse/internal/testutil"
)

// expect checks an API answer's status and, for errors, its code.
func expect(t *testing.T, r apiResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.errCode() != code {
		t.Errorf("status %d code %q, want %d %q: %s", r.Status, r.errCode(), status, code, r.Raw)
	}
	if code != "" {
		e, _ := r.Body["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg == "" {
			t.Errorf("error without a message: %s", r.Raw)
		}
	}
}

func TestAPIAuth(t *testing.T) {
	e := start(t)
	expect(t, e.call(t, "GET", "/domains", "", ""), 401, "unauthorized")
	expect(t, e.call(t, "GET", "/domains", "", "mh_1_wrong"), 401, "unauthorized")
	expect(t, e.call(t, "GET", "/domains", "", "mh_999_x"), 401, "unauthorized")
	expect(t, e.call(t, "GET", "/domains", "", "garbage"), 401, "unauthorized")
	expect(t, e.call(t, "GET", "/domains", ""), 200, "")
	// A user's password is not a token.
	expect(t, e.call(t, "GET", "/domains", "", "correct horse battery staple"), 401, "unauthorized")
	expect(t, e.call(t, "GET", "/nothing", ""), 404, "not_found")
	expect(t, e.call(t, "PUT", "/domains", "{}"), 404, "not_found")
}

func TestAPIThrottlesBadTokens(t *testing.T) {
	e := start(t)
	for range 20 {
		e.call(t, "GET", "/domains", "", "mh_1_bad")
	}
	// Even a good token is refused for a while from that address.
	expect(t, e.call(t, "GET", "/domains", ""), 429, "throttled")
}

func TestAPIDomains(t *testing.T) {
	e := start(t)
	expect(t, e.call(t, "POST", "/domains", `{"name":"Second.TEST"}`), 201, "")
	r := e.call(t, "GET", "/domains", "")
	expect(t, r, 200, "")
	if ds := r.Body["domains"].([]any); len(ds) != 2 || ds[1].(map[string]any)["name"] != "second.test" {
		t.Errorf("domains: %s", r.Raw)
	}
	r = e.call(t, "POST", "/domains", `{"name":"bücher.example"}`)
	expect(t, r, 201, "")
	if r.Body["name"] != "xn--bcher-kva.example" || r.Body["display"] != "bücher.example" {
		t.Errorf("IDN domain: %s", r.Raw)
	}
	expect(t, e.call(t, "POST", "/domains", `{"name":"second.test"}`), 409, "exists")
	expect(t, e.call(t, "POST", "/domains", `{"name":"not a domain"}`), 400, "bad_domain")
	expect(t, e.call(t, "POST", "/domains", `{"name":""}`), 400, "bad_domain")
	expect(t, e.call(t, "POST", "/domains", `{"nme":"x.test"}`), 400, "bad_request")
	expect(t, e.call(t, "POST", "/domains", `{"name":"x.test"} {}`), 400, "bad_request")
	expect(t, e.call(t, "POST", "/domains", `not json`), 400, "bad_request")
	expect(t, e.call(t, "POST", "/domains", `{"name":"`+strings.Repeat("a", 70<<10)+`"}`), 400, "bad_request")
	r = e.call(t, "GET", "/domains/example.test", "")
	expect(t, r, 200, "")
	if r.Body["accounts"] != float64(2) {
		t.Errorf("example.test: %s", r.Raw)
	}
	expect(t, e.call(t, "GET", "/domains/unknown.test", ""), 404, "not_found")
	expect(t, e.call(t, "DELETE", "/domains/example.test", ""), 409, "not_empty")
	expect(t, e.call(t, "DELETE", "/domains/second.test", ""), 204, "")
	expect(t, e.call(t, "DELETE", "/domains/second.test", ""), 404, "not_found")

	r = e.call(t, "GET", "/domains/example.test/dns", "")
	expect(t, r, 200, "")
	if z, _ := r.Body["zone"].(string); !strings.Contains(z, "_submissions._tcp.example.test.\t3600\tIN\tSRV\t0 1 465 mail.example.test.") {
		t.Errorf("dns zone: %s", r.Raw)
	}
	expect(t, e.call(t, "GET", "/domains/unknown.test/dns", ""), 404, "not_found")
}

func TestAPIAccounts(t *testing.T) {
	e := start(t)
	r := e.call(t, "POST", "/accounts", `{"address":"Carol@Example.test","password":"a good long password","quota_bytes":1048576}`)
	expect(t, r, 201, "")
	if r.Body["address"] != "carol@example.test" || r.Body["quota_bytes"] != float64(1<<20) || r.Body["password"] != nil {
		t.Errorf("created: %s", r.Raw)
	}
	if _, err := e.st.Auth.Login(context.Background(), "carol@example.test", "a good long password", netipLoopback); err != nil {
		t.Errorf("new account cannot log in: %v", err)
	}
	r = e.call(t, "POST", "/accounts", `{"address":"dave@example.test","admin":true}`)
	expect(t, r, 201, "")
	pw, _ := r.Body["password"].(string)
	if len(pw) < 16 || r.Body["admin"] != true {
		t.Errorf("generated password / admin: %s", r.Raw)
	}
	expect(t, e.call(t, "POST", "/accounts", `{"address":"carol@example.test","password":"another password"}`), 409, "exists")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"no-at-sign","password":"another password"}`), 400, "bad_address")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"a@b@c","password":"another password"}`), 400, "bad_address")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"x@unknown.test","password":"another password"}`), 422, "unknown_domain")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"x@example.test","password":"short"}`), 400, "weak_password")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"x@example.test","quota_bytes":-1}`), 400, "bad_request")
	expect(t, e.call(t, "POST", "/accounts", `{"address":"x@example.test","quota_bytes":"big"}`), 400, "bad_request")

	r = e.call(t, "GET", "/accounts?domain=example.test", "")
	expect(t, r, 200, "")
	if as := r.Body["accounts"].([]any); len(as) != 4 {
		t.Errorf("accounts: %s", r.Raw)
	}
	if strings.Contains(r.Raw, "argon2") || strings.Contains(strings.ToLower(r.Raw), "hash") {
		t.Errorf("password hashes leak: %s", r.Raw)
	}
	expect(t, e.call(t, "GET", "/accounts?domain=unknown.test", ""), 422, "unknown_domain")
	expect(t, e.call(t, "GET", "/accounts?domain=bad%20domain", ""), 400, "bad_domain")
	expect(t, e.call(t, "GET", "/accounts/nobody@example.test", ""), 404, "not_found")
	expect(t, e.call(t, "GET", "/accounts/not-an-address", ""), 400, "bad_address")

	r = e.call(t, "PATCH", "/accounts/carol@example.test", `{"quota_bytes":5,"disabled":true}`)
	expect(t, r, 200, "")
	if r.Body["quota_bytes"] != float64(5) || r.Body["disabled"] != true {
		t.Errorf("patched: %s", r.Raw)
	}
	r = e.call(t, "PATCH", "/accounts/carol@example.test", `{"generate_password":true,"disabled":false,"admin":true}`)
	expect(t, r, 200, "")
	if pw, _ := r.Body["password"].(string); len(pw) < 16 || r.Body["admin"] != true || r.Body["disabled"] != false {
		t.Errorf("patched: %s", r.Raw)
	}
	expect(t, e.call(t, "PATCH", "/accounts/carol@example.test", `{"password":"x"}`), 400, "weak_password")
	expect(t, e.call(t, "PATCH", "/accounts/carol@example.test", `{"password":"long enough pw","generate_password":true}`), 400, "bad_request")
	expect(t, e.call(t, "PATCH", "/accounts/carol@example.test", `{"colour":"red"}`), 400, "bad_request")
	expect(t, e.call(t, "PATCH", "/accounts/nobody@example.test", `{"disabled":true}`), 404, "not_found")

	expect(t, e.call(t, "DELETE", "/accounts/carol@example.test", ""), 204, "")
	expect(t, e.call(t, "DELETE", "/accounts/carol@example.test", ""), 404, "not_found")
	expect(t, e.call(t, "DELETE", "/accounts/@@", ""), 400, "bad_address")
}

func TestAPIAliases(t *testing.T) {
	e := start(t)
	r := e.call(t, "POST", "/aliases", `{"address":"Team@example.test","targets":["alice@example.test","BOB@example.test","friend@elsewhere.example"]}`)
	expect(t, r, 201, "")
	if r.Body["address"] != "team@example.test" || len(r.Body["targets"].([]any)) != 3 {
		t.Errorf("alias: %s", r.Raw)
	}
	expect(t, e.call(t, "POST", "/aliases", `{"address":"x@example.test","targets":["ghost@example.test"]}`), 400, "unknown_target") // before the catch-all exists
	expect(t, e.call(t, "POST", "/aliases", `{"address":"@example.test","targets":["alice@example.test"]}`), 201, "")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"team@example.test","targets":["alice@example.test"]}`), 409, "exists")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"alice@example.test","targets":["bob@example.test"]}`), 409, "exists")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"x@example.test","targets":[]}`), 400, "bad_request")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"x@example.test","targets":["not an address"]}`), 400, "bad_address")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"bad","targets":["alice@example.test"]}`), 400, "bad_address")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"x@unknown.test","targets":["alice@example.test"]}`), 422, "unknown_domain")
	expect(t, e.call(t, "POST", "/aliases", `{"address":"loop1@example.test","targets":["loop1@example.test"]}`), 400, "alias_loop")

	r = e.call(t, "GET", "/aliases?domain=example.test", "")
	expect(t, r, 200, "")
	if as := r.Body["aliases"].([]any); len(as) != 2 {
		t.Errorf("aliases: %s", r.Raw)
	}
	expect(t, e.call(t, "GET", "/aliases/team@example.test", ""), 200, "")
	expect(t, e.call(t, "GET", "/aliases/"+url.PathEscape("@example.test"), ""), 200, "")
	expect(t, e.call(t, "GET", "/aliases/none@example.test", ""), 404, "not_found")
	expect(t, e.call(t, "DELETE", "/aliases/team@example.test", ""), 204, "")
	expect(t, e.call(t, "DELETE", "/aliases/team@example.test", ""), 404, "not_found")

	// Mail to the alias reaches its local targets.
	if _, err := e.st.Store.GetAlias(context.Background(), "@example.test"); err != nil {
		t.Error(err)
	}
}

func TestAPIAuditAndQueue(t *testing.T) {
	e := start(t)
	expect(t, e.call(t, "POST", "/domains", `{"name":"audit.test"}`), 201, "")
	expect(t, e.call(t, "PATCH", "/accounts/bob@example.test", `{"password":"a new password"}`), 200, "")
	r := e.call(t, "GET", "/audit?limit=2", "")
	expect(t, r, 200, "")
	es := r.Body["entries"].([]any)
	if len(es) != 2 {
		t.Fatalf("audit: %s", r.Raw)
	}
	newest := es[0].(map[string]any)
	if newest["action"] != "account.password" || newest["target"] != "bob@example.test" || !strings.HasPrefix(newest["actor"].(string), "api:test panel#") {
		t.Errorf("newest entry: %v", newest)
	}
	if strings.Contains(r.Raw, "a new password") {
		t.Error("the audit log shows a password")
	}
	older := es[1].(map[string]any)
	r = e.call(t, "GET", fmt.Sprintf("/audit?before=%v", older["id"]), "")
	for _, x := range r.Body["entries"].([]any) {
		if x.(map[string]any)["id"].(float64) >= older["id"].(float64) {
			t.Errorf("paging returned %v", x)
		}
	}
	expect(t, e.call(t, "GET", "/audit?limit=0", ""), 400, "bad_request")
	expect(t, e.call(t, "GET", "/audit?before=x", ""), 400, "bad_request")

	r = e.call(t, "GET", "/queue", "")
	expect(t, r, 200, "")
	if r.Body["available"] != false {
		t.Errorf("queue: %s", r.Raw)
	}
	// Audit entries also come from the store interface directly.
	if es, err := e.st.Store.(store.Admin).ListAudit(context.Background(), 0, 100); err != nil || len(es) < 3 {
		t.Errorf("store audit: %d %v", len(es), err)
	}
}

// TestAPIWithCurl runs the README's example with curl.
func TestAPIWithCurl(t *testing.T) {
	curl := testutil.NeedTool(t, "curl")
	e := start(t)
	out, err := exec.Command(curl, "-sS", "--cacert", e.st.CertFile, "-w", "\n%{http_code}",
		"-H", "Authorization: Bearer "+e.token, e.base+"/api/admin/v1/accounts",
		"-d", `{"address": "carol@example.test", "quota_bytes": 2147483648}`).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	body, rest, found := strings.Cut(string(out), "\n201")
	if !found || rest != "" || !strings.Contains(body, `"address": "carol@example.test"`) || !strings.Contains(body, `"password": "`) {
		t.Errorf("curl answer:\n%s", out)
	}
	out, _ = exec.Command(curl, "-sS", "--cacert", e.st.CertFile, "-w", "\n%{http_code}", e.base+"/api/admin/v1/domains").CombinedOutput()
	if !strings.HasSuffix(string(out), "\n401") || !strings.Contains(string(out), `"code": "unauthorized"`) {
		t.Errorf("curl without token:\n%s", out)
	}
}
