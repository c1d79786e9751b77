package app_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailhouse/internal/testenv"
	"mailhouse/internal/web/admin/ops"
)

type imapEvent struct {
	kind string
	n    uint32
}

// dialIMAP logs in over implicit TLS and reports EXISTS and EXPUNGE.
func dialIMAP(t *testing.T, s *testenv.Server, user string) (*imapclient.Client, chan imapEvent) {
	t.Helper()
	events := make(chan imapEvent, 64)
	c, err := imapclient.DialTLS(s.Addr(t, "imaps"), &imapclient.Options{
		TLSConfig: s.ClientTLS,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Expunge: func(seq uint32) { events <- imapEvent{"expunge", seq} },
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					events <- imapEvent{"exists", *d.NumMessages}
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testenv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c, events
}

func waitEvent(t *testing.T, events <-chan imapEvent, kind string, within time.Duration) imapEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-events:
			if e.kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within %v", kind, within)
		}
	}
}

// sendMX delivers a message on port 25 as another server would.
func sendMX(t *testing.T, s *testenv.Server, from, to, subject string) {
	t.Helper()
	c, err := smtp.DialStartTLS(s.Addr(t, "smtp"), s.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%d@elsewhere.test>\r\n\r\nHello.\r\n", from, to, subject, time.Now().UnixNano())
	if err := c.SendMail(from, []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestIdleSeesSMTPDelivery(t *testing.T) {
	s := testenv.Start(t, "", "bob")
	c, events := dialIMAP(t, s, "bob@example.test")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	sendMX(t, s, "carol@elsewhere.test", "bob@example.test", "while idling")
	if e := waitEvent(t, events, "exists", 10*time.Second); e.n != 1 {
		t.Fatalf("EXISTS %d, want 1", e.n)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "while idling" {
		t.Fatalf("fetched %v %+v", err, msgs)
	}
}

// pop3 is a tiny POP3 client for the cross-protocol test (the POP3
// package's own tests drive fetchmail, getmail6, curl and poplib).
type pop3 struct{ tp *textproto.Conn }

func (p *pop3) cmd(t *testing.T, line string) string {
	t.Helper()
	if err := p.tp.PrintfLine("%s", line); err != nil {
		t.Fatal(err)
	}
	resp, err := p.tp.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp, "+OK") {
		t.Fatalf("%s: %s", strings.Fields(line)[0], resp)
	}
	return resp
}

func TestPOP3DeleteReachesIMAPAtQuit(t *testing.T) {
	s := testenv.Start(t, "", "bob")
	sendMX(t, s, "carol@elsewhere.test", "bob@example.test", "one")
	sendMX(t, s, "carol@elsewhere.test", "bob@example.test", "two")

	c, events := dialIMAP(t, s, "bob@example.test")
	if data, err := c.Select("INBOX", nil).Wait(); err != nil || data.NumMessages != 2 {
		t.Fatalf("select: %v %+v", err, data)
	}

	conn, err := tls.Dial("tcp", s.Addr(t, "pop3s"), s.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := &pop3{tp: textproto.NewConn(conn)}
	if greet, err := p.tp.ReadLine(); err != nil || !strings.HasPrefix(greet, "+OK") {
		t.Fatalf("greeting %q %v", greet, err)
	}
	p.cmd(t, "USER bob@example.test")
	p.cmd(t, "PASS "+testenv.Password)
	p.cmd(t, "DELE 1")

	// Not before QUIT: the IMAP session still has both messages.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		if e.kind == "expunge" {
			t.Fatal("EXPUNGE before the POP3 session quit")
		}
	case <-time.After(300 * time.Millisecond):
	}
	p.cmd(t, "QUIT")

	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if e := waitEvent(t, events, "expunge", 10*time.Second); e.n != 1 {
		t.Fatalf("EXPUNGE %d, want 1", e.n)
	}
	idle.Close()
	idle.Wait()
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "two" {
		t.Fatalf("after QUIT: %v %+v", err, msgs)
	}
}

// A dropped POP3 connection deletes nothing.
func TestPOP3DropDeletesNothing(t *testing.T) {
	s := testenv.Start(t, "", "bob")
	sendMX(t, s, "carol@elsewhere.test", "bob@example.test", "keep me")
	conn, err := tls.Dial("tcp", s.Addr(t, "pop3s"), s.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	p := &pop3{tp: textproto.NewConn(conn)}
	p.tp.ReadLine()
	p.cmd(t, "USER bob@example.test")
	p.cmd(t, "PASS "+testenv.Password)
	p.cmd(t, "DELE 1")
	conn.Close()

	// The maildrop lock is released and the message is still there.
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn2, err := tls.Dial("tcp", s.Addr(t, "pop3s"), s.ClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		p2 := &pop3{tp: textproto.NewConn(conn2)}
		p2.tp.ReadLine()
		p2.cmd(t, "USER bob@example.test")
		p2.tp.PrintfLine("PASS %s", testenv.Password)
		resp, _ := p2.tp.ReadLine()
		if strings.HasPrefix(resp, "+OK") {
			if stat := p2.cmd(t, "STAT"); !strings.HasPrefix(stat, "+OK 1 ") {
				t.Fatalf("STAT after a dropped session: %q", stat)
			}
			conn2.Close()
			return
		}
		conn2.Close()
		if time.Now().After(deadline) {
			t.Fatalf("maildrop still locked after the connection dropped: %q", resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A message for a domain whose server is down waits in the queue, and
// the admin API (as the console) shows it with its last error.
func TestQueueShownToAdmin(t *testing.T) {
	// example.org's mail goes to a closed loopback port: a temporary
	// failure, so the message stays queued.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	s := testenv.Start(t, fmt.Sprintf("[routes]\n\"example.org\" = %q\n", deadAddr), "alice")

	c, err := smtp.DialTLS(s.Addr(t, "submissions"), s.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testenv.Password)); err != nil {
		t.Fatal(err)
	}
	msg := "From: alice@example.test\r\nTo: bob@example.org\r\nSubject: out\r\n\r\nhi\r\n"
	if err := c.SendMail("alice@example.test", []string{"bob@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("submission to an external domain: %v", err)
	}

	_, secret, err := ops.New(s.App.Store, "test").AddToken(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.ClientTLS}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "https://"+s.Addr(t, "https")+"/api/admin/v1/queue", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Available bool `json:"available"`
			Messages  []struct {
				From      string   `json:"from"`
				To        []string `json:"to"`
				Attempts  int      `json:"attempts"`
				LastError string   `json:"last_error"`
			} `json:"messages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("queue API: %d %v", resp.StatusCode, err)
		}
		if !body.Available {
			t.Fatal("the console says there is no outbound queue")
		}
		if len(body.Messages) == 1 && body.Messages[0].Attempts > 0 {
			m := body.Messages[0]
			if m.From != "alice@example.test" || len(m.To) != 1 || m.To[0] != "bob@example.org" || m.LastError == "" {
				t.Fatalf("queued message shown as %+v", m)
			}
			// The deferred attempt is counted in the metrics too.
			rec := httptest.NewRecorder()
			s.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			if !strings.Contains(rec.Body.String(), `mailhouse_queue_results_total{result="deferred"} 1`) {
				t.Errorf("metrics do not count the deferred attempt:\n%s", grepLines(rec.Body.String(), "queue_results"))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deferred message in the queue view: %+v", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
