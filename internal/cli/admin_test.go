package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

func TestAdminCLI(t *testing.T) {
	env, cfg, out := testEnv(t, "hostname = \"mail.example.com\"\n")
	c, _ := config.Load(cfg)
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDomain(context.Background(), "example.com"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(f func(*Env, []string) error, args ...string) (string, error) {
		out.Reset()
		err := f(env, append(args, "--config", cfg))
		return out.String(), err
	}
	group := func(args ...string) (string, error) {
		return run(func(e *Env, a []string) error { return Dispatch(e, "admin", AdminCommands(), a) }, args...)
	}

	if o, err := run(UserAddAdmin, "Root@Example.com", "--admin", "--quota", "1G"); err != nil || !strings.Contains(o, "added administrator root@example.com") || !regexp.MustCompile(`password: \S{20}`).MatchString(o) {
		t.Fatalf("user add --admin: %q %v", o, err)
	}
	if _, err := run(UserAddAdmin, "user@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(UserAddAdmin, "x@unknown.example"); err == nil || !strings.Contains(err.Error(), "not hosted") {
		t.Errorf("unknown domain: %v", err)
	}
	if _, err := run(UserAddAdmin, "user@example.com"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate: %v", err)
	}
	if o, err := run(UserAdmin, "user@example.com"); err != nil || !strings.Contains(o, "user@example.com is now an administrator") {
		t.Errorf("user admin: %q %v", o, err)
	}
	if o, err := run(UserAdmin, "user@example.com", "--revoke"); err != nil || !strings.Contains(o, "no longer") {
		t.Errorf("user admin --revoke: %q %v", o, err)
	}
	if _, err := run(UserAdmin, "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("user admin unknown: %v", err)
	}
	if o, err := run(UserDisable, "user@example.com"); err != nil || !strings.Contains(o, "disabled user@example.com") {
		t.Errorf("user disable: %q %v", o, err)
	}
	if _, err := run(UserDisable, "user@example.com", "--enable"); err != nil {
		t.Error(err)
	}

	o, err := group("token", "add", "hosting panel")
	if err != nil || !regexp.MustCompile(`token 1 \(hosting panel\): mh_1_\S{43}\n`).MatchString(o) {
		t.Fatalf("token add: %q %v", o, err)
	}
	if o, err := group("token", "list"); err != nil || !strings.Contains(o, "hosting panel") || strings.Contains(o, "mh_1_") {
		t.Errorf("token list: %q %v", o, err)
	}
	if _, err := group("token", "del", "1"); err != nil {
		t.Error(err)
	}
	if _, err := group("token", "del", "1"); err == nil {
		t.Error("revoked twice")
	}
	o, err = group("audit", "--limit", "100")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"root@example.com  quota=1073741824 admin", "account.admin.grant", "account.admin.revoke", "account.disable", "account.enable", "token.add", "token.delete"} {
		if !strings.Contains(o, want) {
			t.Errorf("audit lacks %q:\n%s", want, o)
		}
	}
	if !strings.Contains(o, "cli:") {
		t.Errorf("audit does not name the CLI user:\n%s", o)
	}

	c, _ = config.Load(cfg)
	st, _ = env.OpenStore(c)
	defer st.Close()
	f, err := st.(store.Admin).AccountFlags(context.Background(), "root@example.com")
	if err != nil || !f.Admin {
		t.Errorf("root flags %+v %v", f, err)
	}
}

// TestAuditedCommands: the audited domain/user/alias commands keep the
// behaviour (and messages) of the plain ones, and audit every change.
func TestAuditedCommands(t *testing.T) {
	env, cfg, out := testEnv(t, "hostname = \"mail.example.com\"\n")
	errb := env.Stderr
	groups := map[string][]Command{"domain": DomainCommands(), "user": UserCommands(), "alias": AliasCommands(), "admin": AdminCommands()}
	run := func(stdin string, args ...string) (string, error) {
		out.Reset()
		env.Stdin = strings.NewReader(stdin)
		return out.String(), Dispatch(env, args[0], groups[args[0]], append(args[1:], "--config", cfg))
	}
	ok := func(stdin string, args ...string) string {
		t.Helper()
		_, err := run(stdin, args...)
		if err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errb)
		}
		return out.String()
	}
	fail := func(want, stdin string, args ...string) {
		t.Helper()
		if _, err := run(stdin, args...); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want one line containing %q", args, err, want)
		}
	}
	ok("", "domain", "add", "Example.COM")
	ok("", "domain", "add", "bücher.example")
	if o := ok("", "domain", "list"); !strings.Contains(o, "bücher.example") {
		t.Errorf("domain list %q", o)
	}
	ok("hunter2hunter2\n", "user", "add", "Alice@Example.com", "--password-stdin")
	ok("", "user", "add", "bob@example.com")
	ok("", "user", "add", "carol@bücher.example")
	ok("", "alias", "add", "team@example.com", "alice@example.com", "bob@example.com")
	ok("", "alias", "add", "@bücher.example", "carol@xn--bcher-kva.example")
	if o := ok("", "alias", "list"); !strings.Contains(o, "team@example.com -> alice@example.com, bob@example.com") {
		t.Errorf("alias list: %q", o)
	}
	ok("newpassword1\n", "user", "passwd", "alice@example.com", "--password-stdin")
	fail("not hosted here", "pw12345678\n", "user", "add", "dave@unknown.test", "--password-stdin")
	fail("already exists", "pw12345678\n", "user", "add", "alice@example.com", "--password-stdin")
	fail("malformed address", "pw12345678\n", "user", "add", "not-an-address", "--password-stdin")
	fail("at least 8", "short\n", "user", "add", "eve@example.com", "--password-stdin")
	fail("no password", "", "user", "add", "eve@example.com", "--password-stdin")
	fail("loop", "", "alias", "add", "loop1@example.com", "loop1@example.com")
	ok("", "alias", "add", "loopa@example.com", "team@example.com")
	fail("no such user", "", "alias", "add", "x@example.com", "ghost@example.com")
	fail("not empty", "", "domain", "del", "example.com")
	fail("not found", "", "user", "del", "ghost@example.com")
	ok("", "user", "del", "bob@example.com")
	ok("", "alias", "del", "@bücher.example")
	ok("", "user", "del", "carol@bücher.example")
	ok("", "domain", "del", "bücher.example")
	if o := ok("", "domain", "dns", "example.com"); !strings.Contains(o, "example.com.\t3600\tIN\tMX\t10 mail.example.com.") {
		t.Errorf("domain dns: %q", o)
	}
	o := ok("", "admin", "audit")
	for _, want := range []string{"domain.add", "account.add", "alias.add", "account.password", "account.delete", "alias.delete", "domain.delete"} {
		if !strings.Contains(o, want) {
			t.Errorf("audit lacks %s:\n%s", want, o)
		}
	}
}
