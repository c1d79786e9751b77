package sqlstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"mailhouse/internal/store"
)

func TestAdmin(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.db")
	s := openTest(t, path)
	if _, err := s.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAccount(ctx, store.NewAccount{Address: "a@example.test", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.AccountFlags(ctx, "a@example.test"); err != nil || f != (store.AccountFlags{}) {
		t.Fatalf("fresh flags %+v %v", f, err)
	}
	if _, err := s.AccountFlags(ctx, "nobody@example.test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if err := s.SetAdmin(ctx, "nobody@example.test", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAdmin unknown: %v", err)
	}
	if err := s.SetAdmin(ctx, "a@example.test", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, "a@example.test", true); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.AccountFlags(ctx, "a@example.test"); !f.Admin || !f.Disabled {
		t.Errorf("flags %+v", f)
	}
	if err := s.SetDisabled(ctx, "a@example.test", false); err != nil {
		t.Fatal(err)
	}
	m, err := s.ListAccountFlags(ctx)
	if err != nil || m[a.ID] != (store.AccountFlags{Admin: true}) || len(m) != 1 {
		t.Errorf("ListAccountFlags %v %v", m, err)
	}
	if err := s.DeleteAccount(ctx, "a@example.test"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.ListAccountFlags(ctx); len(m) != 0 {
		t.Errorf("flags outlived their account: %v", m)
	}

	// Audit log: newest first, paged by ID.
	for i := range 5 {
		if err := s.AddAudit(ctx, store.AuditEntry{Actor: "cli:root", Action: "account.add", Target: fmt.Sprintf("u%d@example.test", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAudit(ctx, store.AuditEntry{Action: "x"}); !errors.Is(err, store.ErrNotAllowed) {
		t.Errorf("audit without actor: %v", err)
	}
	page, err := s.ListAudit(ctx, 0, 3)
	if err != nil || len(page) != 3 || page[0].Target != "u4@example.test" || page[0].Time.IsZero() {
		t.Fatalf("page 1: %+v %v", page, err)
	}
	page2, _ := s.ListAudit(ctx, page[2].ID, 3)
	if len(page2) != 2 || page2[1].Target != "u0@example.test" {
		t.Errorf("page 2: %+v", page2)
	}

	// Tokens.
	tok, err := s.AddToken(ctx, store.APIToken{Name: "panel", Hash: bytes.Repeat([]byte{1}, 32), CreatedBy: "cli:root"})
	if err != nil || tok.ID == 0 {
		t.Fatal(tok, err)
	}
	if _, err := s.AddToken(ctx, store.APIToken{Name: "", Hash: []byte{1}}); !errors.Is(err, store.ErrNotAllowed) {
		t.Errorf("nameless token: %v", err)
	}
	got, err := s.GetToken(ctx, tok.ID)
	if err != nil || got.Name != "panel" || !bytes.Equal(got.Hash, tok.Hash) {
		t.Errorf("GetToken %+v %v", got, err)
	}
	if ts, _ := s.ListTokens(ctx); len(ts) != 1 {
		t.Errorf("ListTokens %v", ts)
	}
	if err := s.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token: %v", err)
	}
	if err := s.DeleteToken(ctx, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}

	// The schema survives a reopen (migration recorded once).
	s.Close()
	s = openTest(t, path)
	if es, err := s.ListAudit(ctx, 0, 10); err != nil || len(es) != 5 {
		t.Errorf("after reopen: %d %v", len(es), err)
	}
}
