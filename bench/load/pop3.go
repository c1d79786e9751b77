package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// POP3Options configure the POP3 full-download scenario.
type POP3Options struct {
	Target   Target
	Users    []string // worker i logs in as Users[i%len(Users)]
	Pass     string
	Conns    int // concurrent workers, each running sessions back to back
	Duration time.Duration
	// MaxErrors aborts the run after that many failed sessions. Default 20.
	MaxErrors int
}

// POP3Result is the outcome of the POP3 scenario.
type POP3Result struct {
	Elapsed  time.Duration
	Sessions OpSummary // whole session: connect..QUIT
	Retr     OpSummary
	Bytes    int64
	Ops      []OpSummary
}

// Result renders the machine-readable line.
func (r POP3Result) Result(o POP3Options) Result {
	res := Result{Scenario: "pop3"}
	res.Add("conns", "%d", o.Conns)
	res.Add("seconds", "%.1f", r.Elapsed.Seconds())
	res.Add("sessions", "%d", r.Sessions.Count)
	res.Add("errors", "%d", r.Sessions.Errors)
	res.Add("sessions_per_sec", "%.2f", r.Sessions.PerSec)
	res.Add("msgs_per_sec", "%.1f", r.Retr.PerSec)
	res.Add("mb_per_sec", "%.2f", float64(r.Bytes)/1e6/r.Elapsed.Seconds())
	res.Add("session_p50_ms", "%s", ms(r.Sessions.P50))
	res.Add("session_p99_ms", "%s", ms(r.Sessions.P99))
	res.Add("retr_p50_ms", "%s", ms(r.Retr.P50))
	res.Add("retr_p99_ms", "%s", ms(r.Retr.P99))
	return res
}

// RunPOP3 runs full-download sessions for Duration.
func RunPOP3(ctx context.Context, o POP3Options) (POP3Result, error) {
	if err := o.Target.Validate(); err != nil {
		return POP3Result{}, err
	}
	if o.Conns <= 0 || len(o.Users) == 0 || o.Duration <= 0 {
		return POP3Result{}, errors.New("pop3: need conns > 0, users and a duration")
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := NewRecorder()
	var total atomic.Int64
	var errCount atomic.Int64
	var fatal error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(o.Duration)
	for i := range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := NewRecorder()
			defer rec.Merge(wr)
			user := o.Users[i%len(o.Users)]
			for ctx.Err() == nil && time.Now().Before(end) {
				t0 := time.Now()
				n, err := pop3Session(o, user, wr)
				if err != nil {
					wr.Error("session", err)
					if errCount.Add(1) > int64(o.MaxErrors) {
						once.Do(func() { fatal = fmt.Errorf("pop3: too many errors, last: %w", err) })
						cancel()
					}
					continue
				}
				total.Add(n)
				wr.Observe("session", time.Since(t0))
			}
		}()
	}
	wg.Wait()
	if fatal != nil {
		return POP3Result{}, fatal
	}
	elapsed := time.Since(start)
	ops, _ := rec.Summary(elapsed)
	res := POP3Result{Elapsed: elapsed, Ops: ops, Bytes: total.Load()}
	for _, s := range ops {
		switch s.Name {
		case "session":
			res.Sessions = s
		case "retr":
			res.Retr = s
		}
	}
	return res, nil
}

// pop3Session logs in, lists and downloads every message, and quits
// without deleting. It returns the bytes downloaded.
func pop3Session(o POP3Options, user string, rec *Recorder) (int64, error) {
	c, err := dial(o.Target)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.deadline()
	if _, err := pop3Reply(c); err != nil {
		return 0, fmt.Errorf("greeting: %w", err)
	}
	if o.Target.TLS == TLSStart {
		if _, err := pop3Cmd(c, "STLS"); err != nil {
			return 0, err
		}
		if err := c.startTLS(o.Target); err != nil {
			return 0, err
		}
	}
	t0 := time.Now()
	if _, err := pop3Cmd(c, "USER "+user); err != nil {
		return 0, err
	}
	if _, err := pop3Cmd(c, "PASS "+o.Pass); err != nil {
		return 0, errors.New("PASS refused") // the reply may echo nothing secret, but be sure
	}
	rec.Observe("login", time.Since(t0))
	stat, err := pop3Cmd(c, "STAT")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(stat)
	if len(f) < 1 {
		return 0, fmt.Errorf("STAT: %q", stat)
	}
	count, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, fmt.Errorf("STAT: %q", stat)
	}
	if _, err := pop3Cmd(c, "UIDL"); err != nil {
		return 0, err
	}
	if _, err := pop3Multi(c); err != nil {
		return 0, err
	}
	var total int64
	for i := 1; i <= count; i++ {
		t := time.Now()
		if _, err := pop3Cmd(c, "RETR "+strconv.Itoa(i)); err != nil {
			return total, err
		}
		n, err := pop3Multi(c)
		if err != nil {
			return total, err
		}
		total += n
		rec.Observe("retr", time.Since(t))
	}
	_, err = pop3Cmd(c, "QUIT")
	return total, err
}

// pop3Reply reads a +OK/-ERR status line and returns the text after +OK.
func pop3Reply(c *conn) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	if bytes.HasPrefix(line, []byte("+OK")) {
		return strings.TrimSpace(string(line[3:])), nil
	}
	return "", fmt.Errorf("server said %q", line)
}

func pop3Cmd(c *conn, cmd string) (string, error) {
	c.deadline()
	c.w.WriteString(cmd + "\r\n")
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	text, err := pop3Reply(c)
	if err != nil {
		verb, _, _ := strings.Cut(cmd, " ")
		return "", fmt.Errorf("%s: %w", verb, err)
	}
	return text, nil
}

// pop3Multi reads a multi-line body up to the "." line (RFC 1939 §3)
// and returns its size.
func pop3Multi(c *conn) (int64, error) {
	var n int64
	for {
		line, err := c.readLine()
		if err != nil {
			return n, err
		}
		if len(line) == 1 && line[0] == '.' {
			return n, nil
		}
		n += int64(len(line)) + 2
	}
}
