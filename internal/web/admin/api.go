package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailhouse/internal/store"
	"mailhouse/internal/web"
	"mailhouse/internal/web/admin/ops"
	"mailhouse/internal/web/autoconfig"
)

// The JSON API: /api/admin/v1/..., "Authorization: Bearer mh_<id>_<secret>"
// (tokens from the console or `mailhouse admin token add`). Errors are
// {"error": {"code": "...", "message": "..."}} with the status below.

const apiPrefix = "/api/admin/v1"

func (c *Console) apiRoutes() {
	m := c.mux
	m.HandleFunc("GET "+apiPrefix+"/domains", c.api(c.apiListDomains))
	m.HandleFunc("POST "+apiPrefix+"/domains", c.api(c.apiAddDomain))
	m.HandleFunc("GET "+apiPrefix+"/domains/{domain}", c.api(c.apiGetDomain))
	m.HandleFunc("DELETE "+apiPrefix+"/domains/{domain}", c.api(c.apiDeleteDomain))
	m.HandleFunc("GET "+apiPrefix+"/domains/{domain}/dns", c.api(c.apiDNS))
	m.HandleFunc("GET "+apiPrefix+"/accounts", c.api(c.apiListAccounts))
	m.HandleFunc("POST "+apiPrefix+"/accounts", c.api(c.apiAddAccount))
	m.HandleFunc("GET "+apiPrefix+"/accounts/{address}", c.api(c.apiGetAccount))
	m.HandleFunc("PATCH "+apiPrefix+"/accounts/{address}", c.api(c.apiPatchAccount))
	m.HandleFunc("DELETE "+apiPrefix+"/accounts/{address}", c.api(c.apiDeleteAccount))
	m.HandleFunc("GET "+apiPrefix+"/aliases", c.api(c.apiListAliases))
	m.HandleFunc("POST "+apiPrefix+"/aliases", c.api(c.apiAddAlias))
	m.HandleFunc("GET "+apiPrefix+"/aliases/{address}", c.api(c.apiGetAlias))
	m.HandleFunc("DELETE "+apiPrefix+"/aliases/{address}", c.api(c.apiDeleteAlias))
	m.HandleFunc("GET "+apiPrefix+"/audit", c.api(c.apiAudit))
	m.HandleFunc("GET "+apiPrefix+"/queue", c.api(c.apiQueue))
	m.HandleFunc("/api/admin/", c.api(func(w http.ResponseWriter, r *http.Request, _ *ops.Ops) error {
		return &ops.Error{Code: ops.CodeNotFound, Message: "no such endpoint or method: " + r.Method + " " + r.URL.Path}
	}))
}

// apiFailures bounds bad tokens per client address.
type apiFailures struct {
	mu sync.Mutex
	m  map[string]*failCount
}

type failCount struct {
	n     int
	first time.Time
}

// API token failure limits: after apiMaxFailures bad tokens within
// apiFailWindow, an address gets 429 until the window has passed.
const (
	apiMaxFailures = 20
	apiFailWindow  = 10 * time.Minute
)

func (f *apiFailures) blocked(ip string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.m[ip]
	if c == nil {
		return false
	}
	if now.Sub(c.first) > apiFailWindow {
		delete(f.m, ip)
		return false
	}
	return c.n >= apiMaxFailures
}

func (f *apiFailures) fail(ip string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]*failCount{}
	}
	if len(f.m) > 100_000 { // bound memory under a spray of addresses
		clear(f.m)
	}
	c := f.m[ip]
	if c == nil || now.Sub(c.first) > apiFailWindow {
		c = &failCount{first: now}
		f.m[ip] = c
	}
	c.n++
}

// api wraps a JSON handler: bearer token, body limit, error mapping.
func (c *Console) api(h func(http.ResponseWriter, *http.Request, *ops.Ops) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		log := web.Logger(r, c.log)
		ip := web.RemoteIP(r).String()
		now := time.Now()
		if c.apiFail.blocked(ip, now) {
			writeAPIError(w, http.StatusTooManyRequests, "throttled", "too many bad tokens from this address: try again later")
			return
		}
		text, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, valid := store.APIToken{}, false
		if ok {
			tok, valid = c.ops.CheckToken(r.Context(), strings.TrimSpace(text))
		}
		if !valid {
			c.apiFail.fail(ip, now)
			log.Warn("admin api: bad or missing token", "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="mailhouse admin"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "a valid API token is required (Authorization: Bearer mh_...)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		o := c.ops.As(fmt.Sprintf("api:%s#%d", tok.Name, tok.ID), "")
		if err := h(w, r, o); err != nil {
			e := ops.AsError(err)
			if e.Code == ops.CodeInternal {
				log.Error("admin api", "path", r.URL.Path, "err", e.Err)
			}
			writeAPIError(w, apiStatus(e.Code), e.Code, e.Message)
		}
	}
}

// apiStatus maps an error code to an HTTP status.
func apiStatus(code string) int {
	switch code {
	case ops.CodeNotFound:
		return http.StatusNotFound
	case ops.CodeUnknownDomain:
		return http.StatusUnprocessableEntity
	case ops.CodeExists, ops.CodeNotEmpty:
		return http.StatusConflict
	case ops.CodeNotAllowed:
		return http.StatusForbidden
	case ops.CodeInternal:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeAPI(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads one JSON object with known fields only.
func decode(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &ops.Error{Code: ops.CodeBadRequest, Message: fmt.Sprintf("request body larger than %d bytes", maxFormBytes)}
		}
		return &ops.Error{Code: ops.CodeBadRequest, Message: "invalid JSON body: " + err.Error()}
	}
	if _, err := d.Token(); err != io.EOF {
		return &ops.Error{Code: ops.CodeBadRequest, Message: "invalid JSON body: more than one value"}
	}
	return nil
}

// JSON shapes.

type domainJSON struct {
	Name     string    `json:"name"`
	Display  string    `json:"display"`
	Accounts int       `json:"accounts"`
	Aliases  int       `json:"aliases"`
	Created  time.Time `json:"created"`
}

func toDomainJSON(d ops.DomainInfo) domainJSON {
	return domainJSON{d.Name, d.Display, d.Accounts, d.Aliases, d.Created}
}

type accountJSON struct {
	Address    string    `json:"address"`
	Display    string    `json:"display"`
	Domain     string    `json:"domain"`
	QuotaBytes int64     `json:"quota_bytes"`
	UsedBytes  int64     `json:"used_bytes"`
	Messages   int64     `json:"messages"`
	Admin      bool      `json:"admin"`
	Disabled   bool      `json:"disabled"`
	Created    time.Time `json:"created"`
	// Password is set only when the server generated one.
	Password string `json:"password,omitempty"`
}

func toAccountJSON(a ops.AccountInfo) accountJSON {
	return accountJSON{a.Address, a.Display, a.Domain, a.QuotaBytes, a.UsedBytes, a.Messages, a.Admin, a.Disabled, a.Created, ""}
}

type aliasJSON struct {
	Address string   `json:"address"`
	Targets []string `json:"targets"`
}

func (c *Console) apiListDomains(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	ds, err := o.ListDomains(r.Context())
	if err != nil {
		return err
	}
	out := make([]domainJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDomainJSON(d))
	}
	writeAPI(w, http.StatusOK, map[string]any{"domains": out})
	return nil
}

func (c *Console) apiAddDomain(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := o.AddDomain(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeAPI(w, http.StatusCreated, toDomainJSON(d))
	return nil
}

func (c *Console) apiGetDomain(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	d, err := o.GetDomain(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	writeAPI(w, http.StatusOK, toDomainJSON(d))
	return nil
}

func (c *Console) apiDeleteDomain(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	if err := o.DeleteDomain(r.Context(), r.PathValue("domain")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Console) apiDNS(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	d, err := o.GetDomain(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	recs, err := autoconfig.Zone(r.Context(), c.o.Settings, d.Name, c.o.DNSSources...)
	if err != nil {
		return ops.AsError(err)
	}
	type rec struct {
		Name    string `json:"name"`
		TTL     int    `json:"ttl"`
		Type    string `json:"type"`
		Data    string `json:"data"`
		Comment string `json:"comment,omitempty"`
	}
	out := make([]rec, 0, len(recs))
	for _, x := range recs {
		out = append(out, rec{x.Name, x.TTL, x.Type, x.Data, x.Comment})
	}
	writeAPI(w, http.StatusOK, map[string]any{"domain": d.Name, "records": out, "zone": autoconfig.ZoneText(d.Name, recs)})
	return nil
}

func (c *Console) apiListAccounts(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	as, err := o.ListAccounts(r.Context(), r.URL.Query().Get("domain"))
	if err != nil {
		return err
	}
	out := make([]accountJSON, 0, len(as))
	for _, a := range as {
		out = append(out, toAccountJSON(a))
	}
	writeAPI(w, http.StatusOK, map[string]any{"accounts": out})
	return nil
}

func (c *Console) apiAddAccount(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	var req struct {
		Address    string `json:"address"`
		Password   string `json:"password"`
		QuotaBytes int64  `json:"quota_bytes"`
		Admin      bool   `json:"admin"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	a, pw, err := o.AddAccount(r.Context(), ops.NewAccount{Address: req.Address, Password: req.Password, QuotaBytes: req.QuotaBytes, Admin: req.Admin})
	if err != nil {
		return err
	}
	out := toAccountJSON(a)
	out.Password = pw
	writeAPI(w, http.StatusCreated, out)
	return nil
}

func (c *Console) apiGetAccount(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	a, err := o.GetAccount(r.Context(), r.PathValue("address"))
	if err != nil {
		return err
	}
	writeAPI(w, http.StatusOK, toAccountJSON(a))
	return nil
}

// apiPatchAccount changes what the body names: a password (or
// "generate_password": true), the quota, the disabled and admin flags.
func (c *Console) apiPatchAccount(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	var req struct {
		Password         *string `json:"password"`
		GeneratePassword bool    `json:"generate_password"`
		QuotaBytes       *int64  `json:"quota_bytes"`
		Disabled         *bool   `json:"disabled"`
		Admin            *bool   `json:"admin"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	addr := r.PathValue("address")
	if _, err := o.GetAccount(ctx, addr); err != nil {
		return err
	}
	if req.Password != nil && req.GeneratePassword {
		return &ops.Error{Code: ops.CodeBadRequest, Message: "give either password or generate_password"}
	}
	if req.Password != nil && *req.Password == "" {
		return &ops.Error{Code: ops.CodeWeakPassword, Message: "the password is empty (use generate_password to have one made)"}
	}
	generated := ""
	if req.Password != nil || req.GeneratePassword {
		pw := ""
		if req.Password != nil {
			pw = *req.Password
		}
		var err error
		if generated, err = o.SetPassword(ctx, addr, pw); err != nil {
			return err
		}
	}
	if req.QuotaBytes != nil {
		if err := o.SetQuota(ctx, addr, *req.QuotaBytes); err != nil {
			return err
		}
	}
	if req.Disabled != nil {
		if err := o.SetDisabled(ctx, addr, *req.Disabled); err != nil {
			return err
		}
	}
	if req.Admin != nil {
		if err := o.SetAdmin(ctx, addr, *req.Admin); err != nil {
			return err
		}
	}
	a, err := o.GetAccount(ctx, addr)
	if err != nil {
		return err
	}
	out := toAccountJSON(a)
	out.Password = generated
	writeAPI(w, http.StatusOK, out)
	return nil
}

func (c *Console) apiDeleteAccount(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	if err := o.DeleteAccount(r.Context(), r.PathValue("address")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Console) apiListAliases(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	as, err := o.ListAliases(r.Context(), r.URL.Query().Get("domain"))
	if err != nil {
		return err
	}
	out := make([]aliasJSON, 0, len(as))
	for _, a := range as {
		out = append(out, aliasJSON(a))
	}
	writeAPI(w, http.StatusOK, map[string]any{"aliases": out})
	return nil
}

func (c *Console) apiAddAlias(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	var req aliasJSON
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := o.AddAlias(r.Context(), req.Address, req.Targets)
	if err != nil {
		return err
	}
	writeAPI(w, http.StatusCreated, aliasJSON(a))
	return nil
}

func (c *Console) apiGetAlias(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	a, err := o.GetAlias(r.Context(), r.PathValue("address"))
	if err != nil {
		return err
	}
	writeAPI(w, http.StatusOK, aliasJSON(a))
	return nil
}

func (c *Console) apiDeleteAlias(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	if err := o.DeleteAlias(r.Context(), r.PathValue("address")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Console) apiAudit(w http.ResponseWriter, r *http.Request, o *ops.Ops) error {
	q := r.URL.Query()
	before, limit := int64(0), auditPageSize
	var err error
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
			return &ops.Error{Code: ops.CodeBadRequest, Message: "before must be an entry id"}
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return &ops.Error{Code: ops.CodeBadRequest, Message: "limit must be 1 to 1000"}
		}
	}
	es, err := o.Audit(r.Context(), before, limit)
	if err != nil {
		return err
	}
	type entry struct {
		ID     int64     `json:"id"`
		Time   time.Time `json:"time"`
		Actor  string    `json:"actor"`
		Action string    `json:"action"`
		Target string    `json:"target"`
		Detail string    `json:"detail,omitempty"`
	}
	out := make([]entry, 0, len(es))
	for _, e := range es {
		out = append(out, entry{e.ID, e.Time, e.Actor, e.Action, e.Target, e.Detail})
	}
	writeAPI(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

func (c *Console) apiQueue(w http.ResponseWriter, r *http.Request, _ *ops.Ops) error {
	if c.o.Queue == nil {
		writeAPI(w, http.StatusOK, map[string]any{"available": false, "messages": []QueuedMessage{}})
		return nil
	}
	ms, err := c.o.Queue.List(r.Context(), maxQueueRows)
	if err != nil {
		return ops.AsError(err)
	}
	writeAPI(w, http.StatusOK, map[string]any{"available": true, "messages": ms})
	return nil
}
