package storetest

import (
	"slices"
	"time"

	"mailhouse/internal/store"
)

func testDomains(e *env) {
	before := time.Now().Add(-time.Second)
	d, err := e.s.AddDomain(e.ctx, "example.org")
	e.must(err)
	if d.ID == 0 || d.Name != "example.org" || d.Created.Before(before) {
		e.Errorf("AddDomain = %+v", d)
	}
	_, err = e.s.AddDomain(e.ctx, "example.org")
	e.wantErr(err, store.ErrExists, "example.org")
	_, err = e.s.AddDomain(e.ctx, "")
	e.wantErr(err, store.ErrNotAllowed)
	_, err = e.s.AddDomain(e.ctx, "a@b")
	e.wantErr(err, store.ErrNotAllowed)

	e.domain("a.example")
	got, err := e.s.GetDomain(e.ctx, "example.org")
	e.must(err)
	if got.ID != d.ID || !got.Created.Equal(d.Created) {
		e.Errorf("GetDomain = %+v, want %+v", got, d)
	}
	_, err = e.s.GetDomain(e.ctx, "nope.example")
	e.wantErr(err, store.ErrNotFound, "nope.example")

	ds, err := e.s.ListDomains(e.ctx)
	e.must(err)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"a.example", "example.org"}) {
		e.Errorf("ListDomains = %v", names)
	}

	// Not empty while an account or an alias remains.
	e.account("bob@example.org")
	e.wantErr(e.s.DeleteDomain(e.ctx, "example.org"), store.ErrNotEmpty, "example.org")
	e.must(e.s.DeleteAccount(e.ctx, "bob@example.org"))
	e.must(e.s.AddAlias(e.ctx, store.Alias{Address: "@example.org", Targets: []string{"x@a.example"}}))
	e.wantErr(e.s.DeleteDomain(e.ctx, "example.org"), store.ErrNotEmpty)
	e.must(e.s.DeleteAlias(e.ctx, "@example.org"))
	e.must(e.s.DeleteDomain(e.ctx, "example.org"))
	_, err = e.s.GetDomain(e.ctx, "example.org")
	e.wantErr(err, store.ErrNotFound)
	e.wantErr(e.s.DeleteDomain(e.ctx, "example.org"), store.ErrNotFound)
}

func testAccounts(e *env) {
	_, err := e.s.AddAccount(e.ctx, store.NewAccount{Address: "bob@nope.example"})
	e.wantErr(err, store.ErrNotFound, "bob@nope.example", "nope.example")
	_, err = e.s.AddAccount(e.ctx, store.NewAccount{Address: "no-at-sign"})
	e.wantErr(err, store.ErrNotAllowed)

	e.domain("example.org")
	e.domain("example.net")
	a, err := e.s.AddAccount(e.ctx, store.NewAccount{Address: "bob@example.org", PasswordHash: "h1", QuotaBytes: 1000})
	e.must(err)
	if a.ID == 0 || a.Address != "bob@example.org" || a.Domain != "example.org" || a.PasswordHash != "h1" || a.QuotaBytes != 1000 || a.Created.IsZero() {
		e.Errorf("AddAccount = %+v", a)
	}
	_, err = e.s.AddAccount(e.ctx, store.NewAccount{Address: "bob@example.org"})
	e.wantErr(err, store.ErrExists, "bob@example.org")
	_, err = e.s.AddAccount(e.ctx, store.NewAccount{Address: "neg@example.org", QuotaBytes: -1})
	e.wantErr(err, store.ErrNotAllowed)

	// The default mailboxes come with the account.
	ms, err := e.s.ListMailboxes(e.ctx, a.ID)
	e.must(err)
	want := map[string]string{}
	for _, d := range store.DefaultMailboxes {
		want[d.Name] = d.SpecialUse
	}
	if len(ms) != len(want) {
		e.Errorf("new account has %d mailboxes, want %d", len(ms), len(want))
	}
	for _, m := range ms {
		if use, ok := want[m.Name]; !ok || use != m.SpecialUse || m.Account != a.ID || m.UIDNext != 1 || m.UIDValidity == 0 {
			e.Errorf("default mailbox %+v", m)
		}
	}

	got, err := e.s.GetAccount(e.ctx, "bob@example.org")
	e.must(err)
	if got != a {
		e.Errorf("GetAccount = %+v, want %+v", got, a)
	}
	got, err = e.s.GetAccountByID(e.ctx, a.ID)
	e.must(err)
	if got != a {
		e.Errorf("GetAccountByID = %+v, want %+v", got, a)
	}
	_, err = e.s.GetAccount(e.ctx, "eve@example.org")
	e.wantErr(err, store.ErrNotFound, "eve@example.org")
	_, err = e.s.GetAccountByID(e.ctx, a.ID+1000)
	e.wantErr(err, store.ErrNotFound)

	e.account("alice@example.org")
	e.account("carol@example.net")
	list := func(domain string) []string {
		e.Helper()
		as, err := e.s.ListAccounts(e.ctx, domain)
		e.must(err)
		var out []string
		for _, a := range as {
			out = append(out, a.Address)
		}
		return out
	}
	if got := list("example.org"); !slices.Equal(got, []string{"alice@example.org", "bob@example.org"}) {
		e.Errorf("ListAccounts(example.org) = %v", got)
	}
	if got := list(""); !slices.Equal(got, []string{"alice@example.org", "bob@example.org", "carol@example.net"}) {
		e.Errorf("ListAccounts() = %v", got)
	}
	_, err = e.s.ListAccounts(e.ctx, "nope.example")
	e.wantErr(err, store.ErrNotFound)

	e.must(e.s.SetPassword(e.ctx, "bob@example.org", "h2"))
	e.must(e.s.SetQuota(e.ctx, "bob@example.org", 0))
	got, err = e.s.GetAccount(e.ctx, "bob@example.org")
	e.must(err)
	if got.PasswordHash != "h2" || got.QuotaBytes != 0 {
		e.Errorf("after SetPassword/SetQuota: %+v", got)
	}
	e.wantErr(e.s.SetPassword(e.ctx, "eve@example.org", "h"), store.ErrNotFound, "eve@example.org")
	e.wantErr(e.s.SetQuota(e.ctx, "eve@example.org", 1), store.ErrNotFound)
	e.wantErr(e.s.SetQuota(e.ctx, "bob@example.org", -5), store.ErrNotAllowed)

	// Deleting takes the mailboxes and messages along.
	inbox := e.mailbox(a.ID, "INBOX")
	e.deliver(body("to-bob", 500), inbox.ID)
	e.must(e.s.DeleteAccount(e.ctx, "bob@example.org"))
	_, err = e.s.GetAccount(e.ctx, "bob@example.org")
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.GetMailboxByID(e.ctx, inbox.ID)
	e.wantErr(err, store.ErrNotFound)
	_, err = e.s.ListMailboxes(e.ctx, a.ID)
	e.wantErr(err, store.ErrNotFound)
	e.wantErr(e.s.DeleteAccount(e.ctx, "bob@example.org"), store.ErrNotFound)
	// The address is free again, with a new ID.
	b := e.account("bob@example.org")
	if b.ID == a.ID {
		e.Errorf("a re-created account reuses ID %d", a.ID)
	}
}

func testAliases(e *env) {
	e.domain("example.org")
	e.account("bob@example.org")
	err := e.s.AddAlias(e.ctx, store.Alias{Address: "x@nope.example", Targets: []string{"bob@example.org"}})
	e.wantErr(err, store.ErrNotFound, "nope.example")
	err = e.s.AddAlias(e.ctx, store.Alias{Address: "bob@example.org", Targets: []string{"carol@example.net"}})
	e.wantErr(err, store.ErrExists, "bob@example.org")
	err = e.s.AddAlias(e.ctx, store.Alias{Address: "empty@example.org"})
	e.wantErr(err, store.ErrNotAllowed)

	sales := store.Alias{Address: "sales@example.org", Targets: []string{"zed@example.org", "bob@example.org", "out@example.net"}}
	e.must(e.s.AddAlias(e.ctx, sales))
	e.must(e.s.AddAlias(e.ctx, store.Alias{Address: "@example.org", Targets: []string{"bob@example.org"}}))
	err = e.s.AddAlias(e.ctx, sales)
	e.wantErr(err, store.ErrExists, "sales@example.org")
	// An address is an account or an alias, never both.
	_, err = e.s.AddAccount(e.ctx, store.NewAccount{Address: "sales@example.org"})
	e.wantErr(err, store.ErrExists, "sales@example.org")

	got, err := e.s.GetAlias(e.ctx, "sales@example.org")
	e.must(err)
	if got.Address != sales.Address || !slices.Equal(got.Targets, sales.Targets) {
		e.Errorf("GetAlias = %+v, want %+v (targets in order)", got, sales)
	}
	_, err = e.s.GetAlias(e.ctx, "nobody@example.org")
	e.wantErr(err, store.ErrNotFound, "nobody@example.org")

	e.domain("example.net")
	e.must(e.s.AddAlias(e.ctx, store.Alias{Address: "a@example.net", Targets: []string{"bob@example.org"}}))
	as, err := e.s.ListAliases(e.ctx, "example.org")
	e.must(err)
	if len(as) != 2 || as[0].Address != "@example.org" || as[1].Address != "sales@example.org" || len(as[1].Targets) != 3 {
		e.Errorf("ListAliases(example.org) = %+v", as)
	}
	as, err = e.s.ListAliases(e.ctx, "")
	e.must(err)
	if len(as) != 3 {
		e.Errorf("ListAliases() = %+v", as)
	}
	_, err = e.s.ListAliases(e.ctx, "nope.example")
	e.wantErr(err, store.ErrNotFound)

	e.must(e.s.DeleteAlias(e.ctx, "sales@example.org"))
	_, err = e.s.GetAlias(e.ctx, "sales@example.org")
	e.wantErr(err, store.ErrNotFound)
	e.wantErr(e.s.DeleteAlias(e.ctx, "sales@example.org"), store.ErrNotFound)
	e.account("sales@example.org") // free again
}
