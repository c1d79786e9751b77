package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/app"
	"mailhouse/internal/cli"
	"mailhouse/internal/config"
	"mailhouse/internal/store"
	"mailhouse/internal/testenv"
)

// TestImportIMAPCLI runs `mailhouse import imap` against a second
// mailhouse over IMAPS on loopback, twice.
func TestImportIMAPCLI(t *testing.T) {
	src := testenv.Start(t, "", "bob")
	mb := src.Mailbox(t, "bob@example.test", "INBOX")
	for i := range 5 {
		if _, err := src.App.Deliverer.Append(t.Context(), mb.ID, []string{`\Seen`}, time.Date(2022, 1, 1+i, 0, 0, 0, 0, time.UTC),
			fmt.Appendf(nil, "Subject: %d\r\nMessage-ID: <%d@src>\r\n\r\nx\r\n", i, i)); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailhouse.toml")
	if err := os.WriteFile(cfg, []byte("hostname = \"mail.example.test\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errOut, OpenStore: func(c *config.Config) (store.Store, error) {
		return app.OpenStore(c, nil)
	}}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAccount(ctx, store.NewAccount{Address: "alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	_, port, _ := net.SplitHostPort(src.Addr(t, "imaps"))
	from := "imaps://bob%40example.test@localhost:" + port
	run := func(password string, args ...string) (string, error) {
		out.Reset()
		env.Stdin = strings.NewReader(password)
		err := cli.Import(env, append([]string{"imap", "alice@example.test", "--from", from, "--config", cfg}, args...))
		return out.String(), err
	}
	for i, want := range []string{"5 messages imported", "0 messages imported (0 B), 5 already there"} {
		o, err := run(testenv.Password+"\n", "--ca", src.CertFile, "--password-stdin")
		if err != nil || !strings.Contains(o, want) {
			t.Fatalf("run %d: %q %v", i+1, o, err)
		}
	}
	if _, err := run("wrong\n", "--ca", src.CertFile, "--password-stdin"); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := run(testenv.Password+"\n", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	t.Setenv(cli.EnvImportPassword, "")
	if _, err := run("", "--ca", src.CertFile); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("no password: %v", err)
	}
}
