package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/testenv"
)

// startServer runs a whole mailhouse on loopback (testenv answers its
// DNS on loopback too) and returns it with the IMAPS target.
func startServer(t testing.TB, users ...string) (*testenv.Server, Target) {
	t.Helper()
	srv := testenv.Start(t, "", users...)
	return srv, Target{Addr: srv.Addr(t, "imaps"), TLS: TLSImplicit, TLSConfig: srv.ClientTLS, Timeout: 20 * time.Second}
}

func addrs(users ...string) []string {
	var out []string
	for _, u := range users {
		out = append(out, u+"@"+testenv.Domain)
	}
	return out
}

// TestSmoke drives every scenario against mailhouse for about two
// seconds each, as `.ci/run` does through `go test ./bench/...`: it
// checks that the tools still work, not how fast anything is.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole server")
	}
	srv, imaps := startServer(t, "alice", "bob", "carol")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	users := addrs("alice", "bob")
	var results []Result

	added, err := Populate(ctx, PopulateOptions{Target: imaps, Users: users, Pass: testenv.Password, Messages: 30, Size: 2048})
	if err != nil || added != 60 {
		t.Fatalf("populate: added %d, %v", added, err)
	}

	so := SMTPOptions{
		Target: Target{Addr: srv.Addr(t, "smtp"), TLS: TLSNone}, Messages: 60, Size: 4096, Conns: 4, PerConn: 10,
		From: "loadgen@loadgen.test", To: addrs("carol"), Verify: imaps, VerifyPass: testenv.Password,
	}
	sr, err := RunSMTP(ctx, so)
	if err != nil {
		t.Fatalf("smtp: %v", err)
	}
	if sr.Sent != 60 || sr.Failed != 0 || sr.Visible <= 0 || sr.Txn.P99 <= 0 {
		t.Fatalf("smtp: %+v", sr)
	}
	if got := srv.Mailbox(t, "carol@"+testenv.Domain, "INBOX"); got.ID == 0 {
		t.Fatal("no INBOX")
	}
	results = append(results, tag(sr.Result(so), "mailhouse"))

	io := IMAPOptions{Target: imaps, Users: users, Pass: testenv.Password, Conns: 4, Duration: 2 * time.Second}
	ir, err := RunIMAP(ctx, io)
	if err != nil {
		t.Fatalf("imap: %v", err)
	}
	if ir.Total.Count < 20 || ir.Total.Errors != 0 {
		var b strings.Builder
		PrintTable(&b, ir.Ops, &ir.Total)
		t.Fatalf("imap: %d ops, %d errors\n%s", ir.Total.Count, ir.Total.Errors, b.String())
	}
	results = append(results, tag(ir.Result(io), "mailhouse"))

	po := POP3Options{Target: Target{Addr: srv.Addr(t, "pop3s"), TLS: TLSImplicit, TLSConfig: srv.ClientTLS},
		Users: users, Pass: testenv.Password, Conns: 2, Duration: 2 * time.Second}
	pr, err := RunPOP3(ctx, po)
	if err != nil {
		t.Fatalf("pop3: %v", err)
	}
	// Every session downloads the whole maildrop: at least the 30 populated.
	if pr.Sessions.Count < 1 || pr.Sessions.Errors != 0 || pr.Retr.Count < 30*pr.Sessions.Count {
		t.Fatalf("pop3: %+v", pr)
	}
	results = append(results, tag(pr.Result(po), "mailhouse"))

	idr, err := RunIdle(ctx, IdleOptions{Target: imaps, Users: users, Pass: testenv.Password, Conns: 10,
		Settle: 100 * time.Millisecond, PID: os.Getpid()})
	if err != nil {
		t.Fatalf("idle: %v", err)
	}
	if idr.Established != 10 || idr.Held.RSSKB <= 0 {
		t.Fatalf("idle: %+v", idr)
	}
	results = append(results, tag(idr.Result(), "mailhouse"))

	// The results round-trip through their text form into the table.
	var text bytes.Buffer
	for _, r := range results {
		fmt.Fprintln(&text, r)
	}
	parsed, err := ParseResults(&text)
	if err != nil || len(parsed) != len(results) {
		t.Fatalf("parse: %d results, %v\n%s", len(parsed), err, text.String())
	}
	var table strings.Builder
	Table(&table, parsed)
	for _, want := range []string{"SMTP end to end", "IMAP mixed load", "POP3 full download", "idle IMAP connections"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestDNS: the benchmark DNS answers the sender's SPF record and
// NXDOMAIN for other names.
func TestDNS(t *testing.T) {
	s, err := StartDNS("127.0.0.1:0", SenderRecords)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	txt, err := r.LookupTXT(ctx, "loadgen.test")
	if err != nil || len(txt) != 1 || !strings.HasPrefix(txt[0], "v=spf1 ") {
		t.Fatalf("TXT: %q %v", txt, err)
	}
	var de *net.DNSError
	if _, err := r.LookupTXT(ctx, "other.test"); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("other: %v", err)
	}
}

func tag(r Result, server string) Result {
	r.Fields = append(r.Fields, Field{"server", server}, Field{"round", "1"})
	return r
}

// TestIMAPFailures: a wrong password and a closed port are errors, not
// hangs or zero results.
func TestIMAPFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole server")
	}
	_, imaps := startServer(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := RunIMAP(ctx, IMAPOptions{Target: imaps, Users: addrs("alice"), Pass: "wrong", Conns: 1, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("wrong password: %v", err)
	}
	closed := Target{Addr: "127.0.0.1:1", TLS: TLSNone, Timeout: time.Second}
	if _, err := RunSMTP(ctx, SMTPOptions{Target: closed, Messages: 1, Size: 100, Conns: 1, To: []string{"x@y.test"}, MaxErrors: 1}); err == nil {
		t.Fatal("smtp to a closed port: no error")
	}
}
