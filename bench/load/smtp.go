package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SMTPOptions configure the SMTP scenario.
type SMTPOptions struct {
	Target   Target
	Messages int      // total messages to send (N)
	Size     int      // bytes per message (S)
	Conns    int      // concurrent sessions (C)
	PerConn  int      // messages per session before reconnecting; 0: one session per worker
	From     string   // envelope sender
	To       []string // recipients, used round-robin (one per message)
	Helo     string
	// NoPipelining sends each command and waits for its reply even when
	// the server offers PIPELINING.
	NoPipelining bool
	// Verify, when its Addr is set, is an IMAP target where every
	// recipient logs in (user = recipient address, password VerifyPass)
	// to count INBOX before and after: the run then also measures the
	// time until every accepted message is visible (end to end).
	Verify        Target
	VerifyPass    string
	VerifyTimeout time.Duration // default 5m
	// MaxErrors aborts the run after that many failed transactions.
	// Default 100.
	MaxErrors int
}

// SMTPResult is the outcome of the SMTP scenario.
type SMTPResult struct {
	Sent, Failed int64
	Accept       time.Duration // first MAIL to last accepted message
	Visible      time.Duration // first MAIL to all visible in IMAP (0 without Verify)
	Txn          OpSummary     // per-message transaction latency (MAIL..final 250)
	Ops          []OpSummary
}

// Result renders the machine-readable line.
func (r SMTPResult) Result(o SMTPOptions) Result {
	res := Result{Scenario: "smtp"}
	res.Add("messages", "%d", r.Sent)
	res.Add("failed", "%d", r.Failed)
	res.Add("size", "%d", o.Size)
	res.Add("conns", "%d", o.Conns)
	res.Add("accept_per_sec", "%.1f", float64(r.Sent)/r.Accept.Seconds())
	if r.Visible > 0 {
		res.Add("e2e_per_sec", "%.1f", float64(r.Sent)/r.Visible.Seconds())
	}
	res.Add("p50_ms", "%s", ms(r.Txn.P50))
	res.Add("p99_ms", "%s", ms(r.Txn.P99))
	res.Add("max_ms", "%s", ms(r.Txn.Max))
	return res
}

// RunSMTP runs the SMTP scenario; ctx bounds it in time.
func RunSMTP(ctx context.Context, o SMTPOptions) (SMTPResult, error) {
	if err := o.Target.Validate(); err != nil {
		return SMTPResult{}, err
	}
	if o.Messages <= 0 || o.Conns <= 0 || o.Size <= 0 || len(o.To) == 0 {
		return SMTPResult{}, errors.New("smtp: need messages, conns, size > 0 and at least one recipient")
	}
	if o.Helo == "" {
		o.Helo = "loadgen.test"
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 100
	}
	if o.VerifyTimeout <= 0 {
		o.VerifyTimeout = 5 * time.Minute
	}
	var v *verifier
	if o.Verify.Addr != "" {
		var err error
		if v, err = newVerifier(o.Verify, o.To, o.VerifyPass); err != nil {
			return SMTPResult{}, fmt.Errorf("verify (before): %w", err)
		}
		defer v.close()
	}

	var next, failed atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := NewRecorder()
	var wg sync.WaitGroup
	errc := make(chan error, o.Conns)
	start := time.Now()
	var lastAccept atomic.Int64
	for w := range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := NewRecorder()
			defer rec.Merge(wr)
			sw := &smtpWorker{o: o, id: w, rec: wr}
			for ctx.Err() == nil {
				err := sw.session(ctx, &next, func() { lastAccept.Store(int64(time.Since(start))) })
				if errors.Is(err, errDone) {
					return
				}
				if err == nil {
					continue // PerConn sent: a new session
				}
				if failed.Add(1) > int64(o.MaxErrors) {
					errc <- fmt.Errorf("smtp: too many errors, last: %w", err)
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return SMTPResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return SMTPResult{}, fmt.Errorf("smtp: %w", err)
	}
	ops, _ := rec.Summary(time.Duration(lastAccept.Load()))
	res := SMTPResult{Accept: time.Duration(lastAccept.Load()), Ops: ops}
	for _, s := range ops {
		if s.Name == "message" {
			res.Txn = s
			res.Sent = s.Count
			res.Failed = s.Errors
		}
	}
	if o.Verify.Addr != "" {
		want := map[string]int{}
		for i := range int(res.Sent) {
			want[o.To[i%len(o.To)]]++
		}
		deadline := time.Now().Add(o.VerifyTimeout)
		if err := v.wait(ctx, want, deadline); err != nil {
			return res, fmt.Errorf("verify: %w", err)
		}
		res.Visible = time.Since(start)
	}
	return res, nil
}

var errDone = errors.New("done")

type smtpWorker struct {
	o    SMTPOptions
	id   int
	seq  int
	rec  *Recorder
	data []byte
}

// session runs one SMTP session, taking message numbers from next until
// N are taken or PerConn are sent. It returns errDone when all N are
// taken.
func (w *smtpWorker) session(ctx context.Context, next *atomic.Int64, accepted func()) error {
	c, err := dial(w.o.Target)
	if err != nil {
		w.rec.Error("connect", err)
		return err
	}
	defer c.Close()
	c.deadline()
	if code, _, err := readReply(c); err != nil || code != 220 {
		return fmt.Errorf("greeting: %d %v", code, err)
	}
	ext, err := ehlo(c, w.o.Helo)
	if err != nil {
		return err
	}
	if w.o.Target.TLS == TLSStart {
		if err := smtpCmd(c, 220, "STARTTLS"); err != nil {
			return err
		}
		if err := c.startTLS(w.o.Target); err != nil {
			return err
		}
		if ext, err = ehlo(c, w.o.Helo); err != nil {
			return err
		}
	}
	pipelining := ext["PIPELINING"] && !w.o.NoPipelining
	for sent := 0; w.o.PerConn <= 0 || sent < w.o.PerConn; sent++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n := next.Add(1) - 1
		if n >= int64(w.o.Messages) {
			smtpCmd(c, 221, "QUIT")
			return errDone
		}
		to := w.o.To[int(n)%len(w.o.To)]
		w.seq++
		msg := Message(w.o.From, to, w.o.Size, w.id, w.seq)
		t0 := time.Now()
		if err := w.transaction(c, to, msg, pipelining); err != nil {
			w.rec.Error("message", err)
			return err
		}
		w.rec.Observe("message", time.Since(t0))
		accepted()
	}
	smtpCmd(c, 221, "QUIT")
	return nil
}

// transaction sends one message: MAIL, RCPT, DATA, body; with
// PIPELINING (RFC 2920 §3.1) the three commands go in one write.
func (w *smtpWorker) transaction(c *conn, to string, msg []byte, pipelining bool) error {
	c.deadline()
	mail := "MAIL FROM:<" + w.o.From + "> SIZE=" + strconv.Itoa(len(msg)) + "\r\n"
	rcpt := "RCPT TO:<" + to + ">\r\n"
	if pipelining {
		c.w.WriteString(mail + rcpt + "DATA\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
		// Read all three replies before judging: each command gets one.
		var bad error
		for _, want := range []int{250, 250, 354} {
			code, text, err := readReply(c)
			if err != nil {
				return err
			}
			if code != want && bad == nil {
				bad = fmt.Errorf("reply %d %s", code, strings.TrimSpace(text))
			}
		}
		if bad != nil {
			return bad // the session is dropped: the state is unclear
		}
	} else {
		for _, step := range []struct {
			cmd  string
			want int
		}{{mail, 250}, {rcpt, 250}, {"DATA\r\n", 354}} {
			if err := smtpCmd(c, step.want, strings.TrimSuffix(step.cmd, "\r\n")); err != nil {
				return err
			}
		}
	}
	c.w.Write(msg)
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		c.w.WriteString("\r\n")
	}
	c.w.WriteString(".\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	code, text, err := readReply(c)
	if err != nil {
		return err
	}
	if code != 250 {
		return fmt.Errorf("after data: %d %s", code, text)
	}
	return nil
}

// readReply reads a possibly multi-line SMTP reply (RFC 5321 §4.2.1).
func readReply(c *conn) (int, string, error) {
	var text strings.Builder
	for {
		line, err := c.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", err
		}
		if len(line) < 3 {
			return 0, "", fmt.Errorf("short reply %q", line)
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil {
			return 0, "", fmt.Errorf("bad reply %q", line)
		}
		if len(line) > 4 {
			text.Write(line[4:])
			text.WriteByte('\n')
		}
		if len(line) == 3 || line[3] == ' ' {
			return code, text.String(), nil
		}
	}
}

func smtpCmd(c *conn, want int, cmd string) error {
	c.deadline()
	c.w.WriteString(cmd + "\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	code, text, err := readReply(c)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("%s: %d %s", strings.Fields(cmd)[0], code, strings.TrimSpace(text))
	}
	return nil
}

// ehlo sends EHLO and returns the extension keywords.
func ehlo(c *conn, helo string) (map[string]bool, error) {
	c.deadline()
	c.w.WriteString("EHLO " + helo + "\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	code, text, err := readReply(c)
	if err != nil {
		return nil, err
	}
	if code != 250 {
		return nil, fmt.Errorf("EHLO: %d %s", code, text)
	}
	ext := map[string]bool{}
	for i, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); i > 0 && len(f) > 0 {
			ext[strings.ToUpper(f[0])] = true
		}
	}
	return ext, nil
}

// verifier holds one logged-in IMAP session per recipient, opened
// before the run so that logging in is not part of the measured time.
type verifier struct {
	clients map[string]*imapClient
	base    map[string]int
}

func newVerifier(t Target, addrs []string, pass string) (*verifier, error) {
	v := &verifier{clients: map[string]*imapClient{}, base: map[string]int{}}
	for _, a := range addrs {
		if _, ok := v.clients[a]; ok {
			continue
		}
		c, err := dialIMAP(t)
		if err != nil {
			v.close()
			return nil, err
		}
		v.clients[a] = c
		if err := c.login(a, pass); err != nil {
			v.close()
			return nil, fmt.Errorf("login %s: %w", a, err)
		}
		n, err := c.status("INBOX")
		if err != nil {
			v.close()
			return nil, err
		}
		v.base[a] = n
	}
	return v, nil
}

func (v *verifier) close() {
	for _, c := range v.clients {
		c.logout()
	}
}

// wait polls STATUS until every address shows base+want messages.
func (v *verifier) wait(ctx context.Context, want map[string]int, deadline time.Time) error {
	for a, n := range want {
		c := v.clients[a]
		for {
			c.timeout = time.Until(deadline) + time.Second
			got, err := c.status("INBOX")
			if err != nil {
				return err
			}
			if got >= v.base[a]+n {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %d of %d messages visible at the deadline", a, got-v.base[a], n)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}
