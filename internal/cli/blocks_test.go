package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/store"
)

func TestBlocksCLI(t *testing.T) {
	env, cfgPath, out := testEnv(t, "hostname = \"mail.example.com\"\n")
	c, _ := config.Load(cfgPath)
	st, err := env.OpenStore(c)
	if err != nil {
		t.Fatal(err)
	}
	l := st.(store.Limits)
	ctx := context.Background()
	for _, k := range []string{"ip:192.0.2.1", "net:2001:db8::/64"} {
		if err := l.AddBlock(ctx, store.Block{Key: k, Until: time.Now().Add(time.Hour), Reason: "failed logins: 10 in 15m0s"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	run := func(args ...string) (string, error) {
		out.Reset()
		err := Dispatch(env, "blocks", BlocksCommands(), append(args, "--config", cfgPath))
		return out.String(), err
	}
	if o, err := run("list"); err != nil || !strings.Contains(o, "ip:192.0.2.1") || !strings.Contains(o, "net:2001:db8::/64") || !strings.Contains(o, "failed logins") {
		t.Fatalf("list: %v\n%s", err, o)
	}
	if o, err := run("clear", "ip:192.0.2.1"); err != nil || !strings.Contains(o, "cleared 1") {
		t.Fatalf("clear: %v\n%s", err, o)
	}
	if _, err := run("clear", "ip:192.0.2.1"); err == nil {
		t.Fatal("clearing a missing block succeeded")
	}
	if o, _ := run("list"); strings.Contains(o, "ip:192.0.2.1") {
		t.Fatalf("cleared block still listed:\n%s", o)
	}
	if o, err := run("clear", "--all"); err != nil || !strings.Contains(o, "cleared 1") {
		t.Fatalf("clear --all: %v\n%s", err, o)
	}
	if o, _ := run("list"); !strings.Contains(o, "no blocks") {
		t.Fatalf("after clear --all:\n%s", o)
	}
}
