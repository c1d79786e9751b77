package pgnodes

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailhouse/internal/dnsx/dnstest"
	"mailhouse/internal/netx"
	"mailhouse/internal/store/pgstore/pgtest"
	"mailhouse/internal/testutil"
)

const (
	domain   = "example.test"
	password = "node-test-password-1"
	remote   = "remote.test" // routed to the test's sink
)

// cluster is one PostgreSQL database shared by mailhouse processes.
type cluster struct {
	t       *testing.T
	bin     string
	dir     string
	dsn     string
	dns     *dnstest.Server
	sink    *sink
	cert    string
	key     string
	client  *tls.Config
	nodes   map[string]*node
	nodesMu sync.Mutex
}

// node is one `mailhouse serve` process.
type node struct {
	name                    string
	cfg                     string
	smtp, submission, imaps string
	cmd                     *exec.Cmd
	log                     *lockedBuffer
	done                    chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// binDir holds the mailhouse binary the tests build (removed by TestMain).
var binDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "mailhouse-pgnodes-bin-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// buildOnce builds cmd/mailhouse once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mailhouse")
	cmd := exec.Command("go", "build", "-o", bin, "mailhouse/cmd/mailhouse")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// newCluster starts PostgreSQL, the DNS server and the sink, creates
// the domain and the given users through the CLI, and starts no node.
func newCluster(t *testing.T, users ...string) *cluster {
	t.Helper()
	testutil.NeedTool(t, "go")
	pg := pgtest.Start(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, dir: t.TempDir(), dsn: pg.NewDB(t), dns: dnstest.New(t), nodes: map[string]*node{}}
	c.cert, c.key = filepath.Join(c.dir, "cert.pem"), filepath.Join(c.dir, "key.pem")
	if err := netx.GenerateSelfSigned("localhost", c.cert, c.key); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(c.cert)
	pool.AppendCertsFromPEM(pem)
	c.client = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	c.sink = startSink(t)
	c.t.Cleanup(c.stopAll)
	// The CLI runs against node "a"'s config; the store is shared.
	admin := c.writeConfig("admin")
	c.cli(admin.cfg, "", "domain", "add", domain)
	for _, u := range users {
		c.cli(admin.cfg, password+"\n", "user", "add", u+"@"+domain, "--password-stdin")
	}
	return c
}

func (c *cluster) cli(cfg, stdin string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "--config", cfg)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("mailhouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes node name's config file with fresh loopback ports.
func (c *cluster) writeConfig(name string) *node {
	c.t.Helper()
	n := &node{name: name, smtp: freeAddr(c.t), submission: freeAddr(c.t), imaps: freeAddr(c.t)}
	n.cfg = filepath.Join(c.dir, name+".toml")
	conf := fmt.Sprintf(`hostname = "mx-%s.%s"
data_dir = "data-%s"
[tls]
cert_file = %q
key_file = %q
[listen]
smtp = [%q]
submission = [%q]
imaps = [%q]
[log]
level = "debug"
[dns]
resolver = %q
[routes]
%q = %q
[queue]
node = %q
retry_min = "1s"
[store]
driver = "postgres"
dsn = %q
`, name, domain, name, c.cert, c.key, n.smtp, n.submission, n.imaps, c.dns.Addr, remote, c.sink.addr, name, c.dsn)
	if err := os.WriteFile(n.cfg, []byte(conf), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// start runs a new node and waits until its ports accept connections.
// The ports are free when picked; another process may take one before
// the node listens. Then the node exits and start tries other ports.
func (c *cluster) start(name string) *node {
	c.t.Helper()
	for attempt := 0; ; attempt++ {
		if n, ok := c.tryStart(name, attempt < 2); ok {
			return n
		}
	}
}

// tryStart is one attempt of start; it returns false if the node exited
// because a port was taken and retry is set.
func (c *cluster) tryStart(name string, retry bool) (*node, bool) {
	c.t.Helper()
	n := c.writeConfig(name)
	n.log = &lockedBuffer{}
	n.done = make(chan struct{})
	n.cmd = exec.Command(c.bin, "serve", "--config", n.cfg)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	c.nodesMu.Lock()
	c.nodes[name] = n
	c.nodesMu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{n.smtp, n.submission, n.imaps} {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-n.done:
				if retry && strings.Contains(n.log.String(), "address already in use") {
					return nil, false
				}
				c.t.Fatalf("node %s exited while starting:\n%s", name, n.log)
			default:
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("node %s not listening on %s after 30s:\n%s", name, addr, n.log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	select {
	case <-n.done: // another process answered on a port the node could not take
		if retry && strings.Contains(n.log.String(), "address already in use") {
			return nil, false
		}
		c.t.Fatalf("node %s exited while starting:\n%s", name, n.log)
	default:
	}
	return n, true
}

// kill sends SIGKILL: no goodbye, no flush, as a crash or power cut.
func (c *cluster) kill(n *node) {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

func (c *cluster) stopAll() {
	c.nodesMu.Lock()
	defer c.nodesMu.Unlock()
	for _, n := range c.nodes {
		select {
		case <-n.done:
			continue
		default:
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		if c.t.Failed() {
			c.t.Logf("node %s log:\n%s", n.name, n.log)
		}
	}
}

// sendMX delivers one message to node n's port 25 as a peer would.
func sendMX(n *node, to, subject string) error {
	c, err := smtp.Dial(n.smtp)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := fmt.Sprintf("From: <carol@elsewhere.test>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%d.%s@elsewhere.test>\r\n\r\nHello.\r\n",
		to, subject, time.Now().UnixNano(), strings.ReplaceAll(subject, " ", "-"))
	if err := c.SendMail("carol@elsewhere.test", []string{to}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// submit sends a message through node n's submission port as a logged-in user.
func (c *cluster) submit(n *node, from, to, subject string) error {
	sc, err := smtp.DialStartTLS(n.submission, c.client)
	if err != nil {
		return err
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", from, password)); err != nil {
		return err
	}
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%d@%s>\r\nDate: %s\r\n\r\nHello.\r\n",
		from, to, subject, time.Now().UnixNano(), domain, time.Now().Format(time.RFC1123Z))
	if err := sc.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		return err
	}
	return sc.Quit()
}

type imapEvent struct {
	kind string
	n    uint32
}

// dialIMAP logs user in on node n over implicit TLS, reporting EXISTS.
func (c *cluster) dialIMAP(t *testing.T, n *node, user string) (*imapclient.Client, chan imapEvent) {
	t.Helper()
	events := make(chan imapEvent, 256)
	cl, err := imapclient.DialTLS(n.imaps, &imapclient.Options{
		TLSConfig: c.client,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case events <- imapEvent{"exists", *d.NumMessages}:
					default:
					}
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := cl.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	return cl, events
}

// inbox lists UID and subject of every message in user's INBOX, read
// through node n.
func (c *cluster) inbox(t *testing.T, n *node, user string) map[imap.UID]string {
	t.Helper()
	cl, _ := c.dialIMAP(t, n, user)
	defer cl.Close()
	sel, err := cl.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := map[imap.UID]string{}
	if sel.NumMessages == 0 {
		return got
	}
	all := imap.SeqSet{{Start: 1, Stop: 0}} // 1:*
	msgs, err := cl.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		got[m.UID] = m.Envelope.Subject
	}
	return got
}

// sink is the external domain's server: it records what it receives.
type sink struct {
	addr string
	mu   sync.Mutex
	got  []string
}

type sinkSession struct{ s *sink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, string(b))
	ss.s.mu.Unlock()
	return nil
}
func (sinkSession) Reset()        {}
func (sinkSession) Logout() error { return nil }

func startSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }))
	srv.Domain = "mx." + remote
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes, srv.MaxRecipients = 1<<20, 10
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

// received returns the messages whose text contains marker.
func (s *sink) received(marker string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.got {
		if strings.Contains(m, marker) {
			n++
		}
	}
	return n
}
