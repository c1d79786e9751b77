package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin/ops"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "0": 0, "1024": 1024, "1K": 1 << 10, "2G": 2 << 30, "500 MB": 500 << 20, "3MiB": 3 << 20, "1t": 1 << 40, " 7 ": 7,
	} {
		if got, err := ops.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "1.5G", "G", "lots", "99999999999T", "1X"} {
		if _, err := ops.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestTokens(t *testing.T) {
	st := testenv.NewStack(t)
	o := ops.New(st.Store, "test")
	ctx := context.Background()
	tok, text, err := o.AddToken(ctx, "panel")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := o.CheckToken(ctx, text); !ok || got.ID != tok.ID {
		t.Errorf("CheckToken(own) = %v %v", got, ok)
	}
	for _, bad := range []string{"", "mh_", "mh_1_", text + "x", strings.Replace(text, "mh_1_", "mh_2_", 1), text[:len(text)-1], "Bearer " + text} {
		if _, ok := o.CheckToken(ctx, bad); ok {
			t.Errorf("CheckToken(%q) accepted", bad)
		}
	}
	if _, _, err := o.AddToken(ctx, " "); !isCode(err, ops.CodeBadRequest) {
		t.Errorf("empty name: %v", err)
	}
	if err := o.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.CheckToken(ctx, text); ok {
		t.Error("revoked token accepted")
	}
}

func isCode(err error, code string) bool {
	var e *ops.Error
	return errors.As(err, &e) && e.Code == code
}

func TestAuditNamesActor(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	o := ops.New(st.Store, "cli:tester").As("admin:alice@example.test", "alice@example.test")
	ctx := context.Background()
	if _, err := o.AddDomain(ctx, "Bücher.Example"); err != nil {
		t.Fatal(err)
	}
	if err := o.DeleteAccount(ctx, "alice@example.test"); !isCode(err, ops.CodeNotAllowed) {
		t.Errorf("self delete: %v", err)
	}
	es, err := o.Audit(ctx, 0, 10)
	if err != nil || len(es) != 1 {
		t.Fatalf("audit %v %v", es, err)
	}
	if e := es[0]; e.Actor != "admin:alice@example.test" || e.Action != "domain.add" || e.Target != "xn--bcher-kva.example" {
		t.Errorf("entry %+v", e)
	}
}

// FuzzParseSize: never panics; accepted sizes are not negative.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"", "1", "2G", "500 MB", "3MiB", "-1", "9223372036854775807", "8589934592G", "KiB", "1 k i b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ops.ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

// FuzzCheckToken: arbitrary bearer texts never panic and never pass.
func FuzzCheckToken(f *testing.F) {
	st := testenv.NewStack(f)
	o := ops.New(st.Store, "test")
	_, text, err := o.AddToken(context.Background(), "panel")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "mh_1_", "mh_1_x", "mh_-1_x", "mh_99999999999999999999_x", "mh_1__", text[:len(text)-2] + "AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == text {
			return
		}
		if _, ok := o.CheckToken(context.Background(), s); ok {
			t.Fatalf("CheckToken(%q) accepted", s)
		}
	})
}
