package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailhouse/internal/netx"
)

// mh runs the CLI in-process and returns exit status, stdout, stderr.
func mh(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailhouse.toml")
	t.Setenv("MAILHOUSE_CONFIG", "")

	code, out, errs := mh(t, "", "init", "--domain", "Example.COM", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: %d %s %s", code, out, errs)
	}
	for _, f := range []string{"mailhouse.toml", "data/tls/cert.pem", "data/tls/key.pem", "data/mailhouse.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not create %s", f)
		}
	}
	if !strings.Contains(out, "self-signed") {
		t.Errorf("init does not tell about the self-signed certificate: %s", out)
	}
	if code, _, errs := mh(t, "", "init", "--domain", "example.com", "--dir", dir); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("second init: %d %q", code, errs)
	}

	ok := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := mh(t, stdin, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s%s", args, code, out, errs)
		}
		return out
	}
	fail := func(want string, stdin string, args ...string) {
		t.Helper()
		code, out, errs := mh(t, stdin, append(args, "--config", cfg)...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1 (%s)", args, code, out)
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, want) {
			t.Errorf("%v: stderr %q, want one line containing %q", args, errs, want)
		}
	}

	ok("", "domain", "add", "bücher.example")
	if out := ok("", "domain", "list"); !strings.Contains(out, "example.com") || !strings.Contains(out, "bücher.example") {
		t.Errorf("domain list: %q", out)
	}
	ok("hunter2hunter2\n", "user", "add", "Alice@Example.com", "--password-stdin")
	out = ok("", "user", "add", "bob@example.com")
	if !regexp.MustCompile(`password: \S{20}`).MatchString(out) {
		t.Errorf("generated password not printed: %q", out)
	}
	ok("", "user", "add", "carol@bücher.example")
	ok("", "alias", "add", "team@example.com", "alice@example.com", "bob@example.com")
	ok("", "alias", "add", "@bücher.example", "carol@xn--bcher-kva.example")
	if out := ok("", "user", "list"); !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "carol@bücher.example") {
		t.Errorf("user list: %q", out)
	}
	if out := ok("", "alias", "list"); !strings.Contains(out, "team@example.com -> alice@example.com, bob@example.com") {
		t.Errorf("alias list: %q", out)
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
	fail("unknown command", "", "user", "frobnicate")
	fail("not found", "", "user", "del", "ghost@example.com")
	ok("", "user", "del", "bob@example.com")

	// Unknown config key: exit 1, one line naming key and line.
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("hostname = \"mail.x.test\"\nlisten_imap = []\n"), 0o600)
	code, _, errs = mh(t, "", "domain", "list", "--config", bad)
	if code != 1 || !strings.Contains(errs, `line 2: unknown key "listen_imap"`) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("unknown key: %d %q", code, errs)
	}
	// The environment variable names the config too.
	t.Setenv("MAILHOUSE_CONFIG", cfg)
	if code, out, _ := mh(t, "", "domain", "list"); code != 0 || !strings.Contains(out, "example.com") {
		t.Errorf("MAILHOUSE_CONFIG not used: %d %q", code, out)
	}
	// --help on every subcommand exits 0.
	for _, args := range [][]string{{"init", "--help"}, {"serve", "--help"}, {"dev", "--help"}, {"domain", "--help"}, {"user", "add", "--help"}, {"alias", "add", "--help"}, {"version"}} {
		if code, _, errs := mh(t, "", args...); code != 0 {
			t.Errorf("%v: exit %d %s", args, code, errs)
		}
	}
}

// buildBinary compiles mailhouse once for the tests that run it as a
// process (signals, the dev quick start).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mailhouse")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func TestServeListensEverywhereAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	if out, err := exec.Command(bin, "init", "--domain", "example.com", "--hostname", "mail.example.com", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	cfgPath := filepath.Join(dir, "mailhouse.toml")
	b, _ := os.ReadFile(cfgPath)
	keys := []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https"}
	// The ports are free when picked; another process may take one
	// before serve listens. Then serve exits and we try other ports.
	var (
		ports []int
		cmd   *exec.Cmd
		logs  chan string
	)
	for attempt := 0; ; attempt++ {
		ports = freePorts(t, len(keys)+1)
		text := string(b)
		for i, k := range keys {
			re := regexp.MustCompile(`(?m)^` + k + `\s*=.*$`)
			addrs := fmt.Sprintf(`"127.0.0.1:%d"`, ports[i])
			if k == "submission" {
				addrs += fmt.Sprintf(`, "127.0.0.1:%d"`, ports[len(keys)])
			}
			text = re.ReplaceAllString(text, k+" = ["+addrs+"]")
		}
		os.WriteFile(cfgPath, []byte(text), 0o600)

		cmd = exec.Command(bin, "serve", "--config", cfgPath)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logs = make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logs <- sc.Text()
			}
			close(logs)
		}()
		seen, running := waitForOrEnd(t, logs, "mailhouse running")
		if running {
			break
		}
		_ = cmd.Wait()
		if out := strings.Join(seen, "\n"); attempt >= 2 || !strings.Contains(out, "address already in use") {
			t.Fatalf("serve ended before it ran:\n%s", out)
		}
	}
	defer cmd.Process.Kill()
	for i, p := range ports {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 2*time.Second)
		if err != nil {
			t.Errorf("port %d (%s) not listening: %v", p, append(keys, "submission")[i], err)
			continue
		}
		c.Close()
	}
	// HTTPS answers with our certificate.
	hc, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[8]), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("https handshake: %v", err)
	}
	if cn := hc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "mail.example.com" {
		t.Errorf("certificate CN %q", cn)
	}
	// SIGHUP reloads a replaced certificate; the open connection goes on.
	if err := netx.GenerateSelfSigned("mail2.example.com", filepath.Join(dir, "data/tls/cert.pem"), filepath.Join(dir, "data/tls/key.pem")); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, logs, "TLS certificate reloaded")
	hc2, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[8]), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("https handshake after reload: %v", err)
	}
	if cn := hc2.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "mail2.example.com" {
		t.Errorf("after SIGHUP the certificate CN is %q, want mail2.example.com", cn)
	}
	hc2.Close()
	fmt.Fprintf(hc, "GET /healthz HTTP/1.1\r\nHost: mail.example.com\r\n\r\n")
	hc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(hc).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Errorf("connection opened before the reload: %q %v", line, err)
	}
	hc.Close()
	// The admin CLI works while serve runs, and SIGTERM stops it cleanly.
	if out, err := exec.Command(bin, "user", "add", "x@example.com", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("user add during serve: %v %s", err, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of SIGTERM")
	}
}

func waitFor(t *testing.T, lines <-chan string, want string) []string {
	t.Helper()
	seen, ok := waitForOrEnd(t, lines, want)
	if !ok {
		t.Fatalf("output ended before %q:\n%s", want, strings.Join(seen, "\n"))
	}
	return seen
}

// waitForOrEnd reads lines until one contains want (true) or the
// output ends (false), for up to 20 s.
func waitForOrEnd(t *testing.T, lines <-chan string, want string) ([]string, bool) {
	t.Helper()
	var seen []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return seen, false
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen, true
			}
		case <-timeout:
			t.Fatalf("no %q within 20s:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

func TestDevQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "dev", "--dir", filepath.Join(dir, "dev"))
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	defer func() {
		if t.Failed() {
			// Stop the process first: its output is copied into stderr
			// until Wait returns.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Logf("dev stderr:\n%s", stderr.String())
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	out := strings.Join(waitFor(t, lines, "password for demo@localhost"), "\n")
	m := regexp.MustCompile(`password for demo@localhost: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no password in:\n%s", out)
	}
	// Every row of the table is a listening port.
	rows := regexp.MustCompile(`(?m)^(.+?)\s{2,}localhost\s+(\d+)\s+(\S+)`).FindAllStringSubmatch(out, -1)
	if len(rows) == 0 {
		t.Fatalf("no settings table:\n%s", out)
	}
	for _, r := range rows {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+r[2], 2*time.Second)
		if err != nil {
			t.Errorf("%s on port %s listed but not listening", r[1], r[2])
			continue
		}
		c.Close()
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
}
