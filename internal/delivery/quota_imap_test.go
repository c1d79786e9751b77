package delivery_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/config"
	"mailhouse/internal/imapd"
	"mailhouse/internal/testenv"
	"mailhouse/internal/testutil"
)

// python runs a Python 3 script with env and returns its output.
func python(t *testing.T, script string, env ...string) string {
	t.Helper()
	bin := testutil.NeedTool(t, "python3")
	cmd := exec.Command(bin, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

// TestQuotaIMAP: with a 1 MB quota, Python's imaplib sees the exact use
// in GETQUOTAROOT, APPEND of a message that fits succeeds and the one
// that would cross the limit gets NO [OVERQUOTA] (RFC 9208 §4.3.1).
func TestQuotaIMAP(t *testing.T) {
	st := testenv.NewStack(t, "alice")
	ctx := context.Background()
	const alice = "alice@" + testenv.Domain
	if err := st.Store.SetQuota(ctx, alice, 1<<20); err != nil {
		t.Fatal(err)
	}
	srv := imapd.New(imapd.Options{
		Hostname: testenv.Hostname, TLS: st.ServerTLS, Store: st.Store, Auth: st.Auth,
		Deliverer: st.Deliverer, Config: config.IMAP{}, Logger: st.Logger,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, true)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(c)
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	out := python(t, `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA"])
c = imaplib.IMAP4_SSL("localhost", int(os.environ["PORT"]), ssl_context=ctx)
c.login(os.environ["USER"], os.environ["PASS"])
def msg(n):
    body = ("x" * 70 + "\r\n") * (n // 72)
    return ("From: a@example.test\r\nSubject: big\r\n\r\n" + body).encode()
print("Q0", c.getquotaroot("INBOX"))
print("A1", c.append("INBOX", None, None, msg(700 * 1024)))
print("Q1", c.getquotaroot("INBOX"))
try:
    print("A2", c.append("INBOX", None, None, msg(400 * 1024)))
except imaplib.IMAP4.error as e:
    print("A2 error", e)
print("Q2", c.getquotaroot("INBOX"))
c.logout()
`, "CA="+st.CertFile, "PORT="+port, "USER="+alice, "PASS="+testenv.Password)
	t.Log(out)
	acct, _ := st.Store.GetAccount(ctx, alice)
	u, err := st.Store.AccountUsage(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Messages != 1 {
		t.Fatalf("%d messages stored, want 1 (the crossing APPEND refused)", u.Messages)
	}
	wantQ := fmt.Sprintf(`STORAGE %d 1024`, u.Bytes/1024)
	if !strings.Contains(out, "Q0 ('OK'") || !strings.Contains(out, "STORAGE 0 1024") {
		t.Errorf("GETQUOTAROOT before: %s", out)
	}
	if !strings.Contains(out, "A1 ('OK'") {
		t.Errorf("APPEND that fits was refused: %s", out)
	}
	if !strings.Contains(out, "[OVERQUOTA]") {
		t.Errorf("crossing APPEND not refused with [OVERQUOTA]: %s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Q1") || strings.HasPrefix(l, "Q2") {
			if !strings.Contains(l, wantQ) {
				t.Errorf("%s, want %s", l, wantQ)
			}
		}
	}
}
