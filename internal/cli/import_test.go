package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

// opsEnv is a CLI environment with domain example.test and the given
// accounts.
func opsEnv(t *testing.T, users ...string) (*Env, string, *bytes.Buffer, *config.Config) {
	t.Helper()
	env, cfgPath, out := testEnv(t, "hostname = \"mail.example.test\"\n")
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := st.AddAccount(ctx, store.NewAccount{Address: u + "@example.test"}); err != nil {
			t.Fatal(err)
		}
	}
	return env, cfgPath, out, c
}

// run runs a command with --config and returns its standard output.
func runCmd(env *Env, out *bytes.Buffer, cfg string, f func(*Env, []string) error, args ...string) (string, error) {
	out.Reset()
	err := f(env, append(args, "--config", cfg))
	return out.String(), err
}

func TestImportExportCLI(t *testing.T) {
	env, cfg, out, _ := opsEnv(t, "alice", "bob")
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp", ".Sent/cur", ".Sent/new"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range []string{"cur/1.M1.h:2,S", "new/2.M2.h", ".Sent/cur/3.M3.h:2,RS"} {
		if err := os.WriteFile(filepath.Join(root, p), fmt.Appendf(nil, "Subject: %d\nMessage-ID: <%d@x>\n\nhi\n", i, i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o, err := runCmd(env, out, cfg, Import, "maildir", "alice@example.test", root)
	if err != nil || !strings.Contains(o, "2 folders, 3 messages imported") {
		t.Fatalf("import maildir: %q %v", o, err)
	}
	if e := env.Stderr.(*bytes.Buffer).String(); !strings.Contains(e, "import: 100%, 3/3 messages") {
		t.Errorf("no plain progress lines on a non-terminal: %q", e)
	}
	o, err = runCmd(env, out, cfg, Import, "maildir", "alice@example.test", root)
	if err != nil || !strings.Contains(o, "0 messages imported (0 B), 3 already there") {
		t.Errorf("second import: %q %v", o, err)
	}
	exp := filepath.Join(t.TempDir(), "out")
	o, err = runCmd(env, out, cfg, Export, "alice@example.test", exp)
	if err != nil || !strings.Contains(o, "3 messages") {
		t.Fatalf("export: %q %v", o, err)
	}
	o, err = runCmd(env, out, cfg, Import, "maildir", "bob@example.test", exp)
	if err != nil || !strings.Contains(o, "3 messages imported") {
		t.Errorf("import of the export: %q %v", o, err)
	}
	mbox := filepath.Join(t.TempDir(), "in.mbox")
	if err := os.WriteFile(mbox, []byte("From x Mon Jan  1 00:00:00 2001\nSubject: m\n\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err = runCmd(env, out, cfg, Import, "mbox", "bob@example.test", mbox, "--folder", "Old")
	if err != nil || !strings.Contains(o, "1 messages imported") {
		t.Errorf("import mbox: %q %v", o, err)
	}
	if _, err := runCmd(env, out, cfg, Import, "maildir", "nobody@example.test", root); err == nil || !strings.Contains(err.Error(), "no account") {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := runCmd(env, out, cfg, Import, "maildir", "alice@example.test"); err != ErrUsage {
		t.Errorf("missing path: %v", err)
	}
}
