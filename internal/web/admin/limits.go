package admin

import (
	"context"
	"net/http"
	"sort"
	"strings"

	"mailhouse/internal/store"
	"mailhouse/internal/web/admin/ops"
)

// Limits pages: login blocks (list, lift), a domain's total quota (show,
// set) and retention (the rules, and what applies to one account).

// Retention tells which folders of an account expire after how many
// days (retention.Job implements it).
type Retention interface {
	Policy(ctx context.Context, a store.Account) (map[string]int, error)
}

// blockRow is one login block as the page shows it.
type blockRow struct {
	store.Block
	Kind, Target string
}

// describeBlock splits a block key ("ip:192.0.2.1", "net:2001:db8::/64",
// "acct:alice@example.com") for display.
func describeBlock(b store.Block) blockRow {
	kind, target, _ := strings.Cut(b.Key, ":")
	name := map[string]string{"ip": "address", "net": "network", "acct": "account"}[kind]
	if name == "" {
		name = kind
	}
	return blockRow{Block: b, Kind: name, Target: target}
}

type limitsBody struct {
	Blocks    []blockRow
	Retention []store.RetentionRule
	Rules     bool // the store keeps retention rules
}

func (c *Console) limitsPage(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	bs, err := c.o.Auth.Blocks(ctx)
	if err != nil {
		c.errPage(w, r, q, ops.AsError(err))
		return
	}
	var body limitsBody
	for _, b := range bs {
		body.Blocks = append(body.Blocks, describeBlock(b))
	}
	if l, ok := c.o.Store.(store.Limits); ok {
		rules, err := l.ListRetention(ctx)
		if err != nil {
			c.errPage(w, r, q, ops.AsError(err))
			return
		}
		sort.Slice(rules, func(i, j int) bool {
			a, b := rules[i], rules[j]
			if a.Domain != b.Domain {
				return a.Domain < b.Domain
			}
			if a.Account != b.Account {
				return a.Account < b.Account
			}
			return a.Folder < b.Folder
		})
		body.Retention, body.Rules = rules, true
	}
	c.page(w, q, "limits", "Blocks and retention", body)
}

// clearBlock lifts one block (form field key) or all (key "*").
func (c *Console) clearBlock(w http.ResponseWriter, r *http.Request, q *request) {
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" {
		c.done(w, r, q, "/admin/limits", &ops.Error{Code: ops.CodeBadRequest, Message: "no block given"}, "")
		return
	}
	clear := key
	if key == "*" {
		clear = ""
	}
	n, err := c.o.Auth.ClearBlock(r.Context(), clear)
	if err != nil {
		c.done(w, r, q, "/admin/limits", ops.AsError(err), "")
		return
	}
	if n == 0 {
		c.done(w, r, q, "/admin/limits", &ops.Error{Code: ops.CodeNotFound, Message: "no such block in force"}, "")
		return
	}
	err = q.ops.Record(r.Context(), "block.clear", key, "")
	msg := "Block lifted."
	if key == "*" {
		msg = "All blocks lifted."
	}
	c.done(w, r, q, "/admin/limits", err, msg)
}

func (c *Console) setDomainQuota(w http.ResponseWriter, r *http.Request, q *request) {
	d := pathArg(r, "domain")
	quota, err := ops.ParseSize(r.PostFormValue("quota"))
	if err == nil {
		err = q.ops.SetDomainQuota(r.Context(), d, quota)
	}
	c.done(w, r, q, domainURL(d), err, "Domain quota set.")
}

// retentionRow is one folder's retention on the account page.
type retentionRow struct {
	Folder string
	Days   int
}

// accountRetention is the account's retention policy by folder name;
// nil when the console has no Retention.
func (c *Console) accountRetention(ctx context.Context, id store.AccountID) ([]retentionRow, error) {
	if c.o.Retention == nil {
		return nil, nil
	}
	a, err := c.o.Store.GetAccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := c.o.Retention.Policy(ctx, a)
	if err != nil {
		return nil, err
	}
	rows := make([]retentionRow, 0, len(p))
	for f, d := range p {
		rows = append(rows, retentionRow{f, d})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Folder < rows[j].Folder })
	return rows, nil
}
