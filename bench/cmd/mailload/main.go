// Command mailload is mailhouse's load generator: it drives any SMTP,
// IMAP or POP3 server over real TCP and prints throughput and latency
// percentiles, then one "RESULT key=value ..." line for scripts.
//
//	mailload smtp     -addr 127.0.0.1:2525 -n 10000 -size 4096 -c 20 -to user@example.test [-verify ADDR -pass P]
//	mailload populate -addr 127.0.0.1:993 -tls implicit -users 'u%d@example.test' -nusers 20 -pass P -messages 200
//	mailload imap     -addr 127.0.0.1:993 -tls implicit -users ... -pass P -c 20 -duration 20s [-mix op=w,...]
//	mailload pop3     -addr 127.0.0.1:995 -tls implicit -users ... -pass P -c 4 -duration 20s
//	mailload idle     -addr 127.0.0.1:993 -tls implicit -users ... -pass P -c 1000 [-pid PID]
//	mailload mem      -pid PID
//	mailload table    results.txt...   # comparison table of compare.sh's RESULT lines
//
// Every run is bounded by -max-time. See bench/compare.sh for the
// side-by-side comparison with Postfix and Dovecot.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"mailhouse/bench/load"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mailload:", err)
		os.Exit(1)
	}
}

const usage = `usage: mailload smtp|imap|pop3|idle|populate|mem [flags], or mailload table FILE...  (mailload CMD -h for flags)`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no scenario")
	}
	cmd, args := args[0], args[1:]
	if cmd == "table" {
		return table(args, stdout)
	}
	fs := flag.NewFlagSet("mailload "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr     = fs.String("addr", "", "server host:port")
		tlsMode  = fs.String("tls", "none", "none, implicit or starttls")
		caFile   = fs.String("cafile", "", "PEM file to trust (default: do not verify the certificate)")
		timeout  = fs.Duration("timeout", 30*time.Second, "time-out of each network exchange")
		maxTime  = fs.Duration("max-time", 10*time.Minute, "hard bound on the whole run")
		users    = fs.String("users", "", "accounts: a list a,b,c or a pattern with %d (see -nusers)")
		nusers   = fs.Int("nusers", 1, "number of accounts the %d pattern expands to (1..n)")
		pass     = fs.String("pass", "", "password of every account (default $MAILLOAD_PASS)")
		conns    = fs.Int("c", 20, "concurrent connections")
		duration = fs.Duration("duration", 20*time.Second, "length of the timed run (imap, pop3)")
		size     = fs.Int("size", 4096, "message size in bytes")
		// smtp
		n         = fs.Int("n", 10000, "smtp: messages to send")
		perConn   = fs.Int("per-conn", 0, "smtp: messages per session before reconnecting (0: one session per connection)")
		from      = fs.String("from", "loadgen@loadgen.test", "smtp: envelope sender")
		to        = fs.String("to", "", "smtp: recipients, comma-separated, used round-robin")
		noPipe    = fs.Bool("no-pipelining", false, "smtp: do not pipeline even when offered")
		verify    = fs.String("verify", "", "smtp: IMAP host:port where recipients log in (-pass) to check every message is visible")
		verifyTLS = fs.String("verify-tls", "implicit", "smtp: TLS mode of -verify")
		// imap
		mix  = fs.String("mix", load.DefaultMix.String(), "imap: operation weights")
		hold = fs.Duration("idle-hold", 10*time.Millisecond, "imap: time held in each IDLE")
		seed = fs.Uint64("seed", 1, "imap: random seed of the operation sequence")
		// populate
		messages = fs.Int("messages", 200, "populate: messages per INBOX")
		// idle, mem
		pid    = fs.Int("pid", 0, "idle, mem: server pid whose process tree's memory is read")
		settle = fs.Duration("settle", 5*time.Second, "idle: wait before reading memory")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *pass == "" {
		*pass = os.Getenv("MAILLOAD_PASS")
	}
	target := load.Target{Addr: *addr, TLS: load.TLSMode(*tlsMode), CAFile: *caFile, Timeout: *timeout}
	accounts := expandUsers(*users, *nusers)
	ctx, cancel := context.WithTimeout(context.Background(), *maxTime)
	defer cancel()

	switch cmd {
	case "smtp":
		o := load.SMTPOptions{Target: target, Messages: *n, Size: *size, Conns: *conns, PerConn: *perConn,
			From: *from, To: splitList(*to), NoPipelining: *noPipe, VerifyPass: *pass}
		if *verify != "" {
			o.Verify = load.Target{Addr: *verify, TLS: load.TLSMode(*verifyTLS), CAFile: *caFile, Timeout: *timeout}
		}
		r, err := load.RunSMTP(ctx, o)
		if err != nil {
			return err
		}
		load.PrintTable(stdout, r.Ops, nil)
		fmt.Fprintf(stdout, "accepted %d messages in %.2fs", r.Sent, r.Accept.Seconds())
		if r.Visible > 0 {
			fmt.Fprintf(stdout, ", all visible in IMAP after %.2fs", r.Visible.Seconds())
		}
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, r.Result(o))
	case "imap":
		m, err := load.ParseMix(*mix)
		if err != nil {
			return err
		}
		o := load.IMAPOptions{Target: target, Users: accounts, Pass: *pass, Conns: *conns, Duration: *duration,
			Mix: m, Size: *size, IdleHold: *hold, Seed: *seed}
		r, err := load.RunIMAP(ctx, o)
		if err != nil {
			return err
		}
		load.PrintTable(stdout, r.Ops, &r.Total)
		fmt.Fprintln(stdout, r.Result(o))
	case "pop3":
		o := load.POP3Options{Target: target, Users: accounts, Pass: *pass, Conns: *conns, Duration: *duration}
		r, err := load.RunPOP3(ctx, o)
		if err != nil {
			return err
		}
		load.PrintTable(stdout, r.Ops, nil)
		fmt.Fprintln(stdout, r.Result(o))
	case "populate":
		added, err := load.Populate(ctx, load.PopulateOptions{Target: target, Users: accounts, Pass: *pass,
			Messages: *messages, Size: *size})
		fmt.Fprintf(stdout, "appended %d messages\n", added)
		return err
	case "idle":
		r, err := load.RunIdle(ctx, load.IdleOptions{Target: target, Users: accounts, Pass: *pass,
			Conns: *conns, Settle: *settle, PID: *pid})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d connections IDLEing after %.1fs\n", r.Established, r.Setup.Seconds())
		if *pid != 0 {
			fmt.Fprintf(stdout, "before: %s\nheld:   %s\n", r.Before, r.Held)
		}
		fmt.Fprintln(stdout, r.Result())
	case "mem":
		if *pid == 0 {
			return errors.New("mem: -pid is required")
		}
		m, err := load.TreeMemory(*pid)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, m)
		r := load.Result{Scenario: "mem"}
		r.Add("procs", "%d", m.Procs)
		r.Add("rss_mib", "%.1f", float64(m.RSSKB)/1024)
		r.Add("pss_mib", "%.1f", float64(m.PSSKB)/1024)
		fmt.Fprintln(stdout, r)
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown scenario %q", cmd)
	}
	return nil
}

// table prints the comparison table of results files (RESULT lines).
func table(files []string, stdout io.Writer) error {
	var all []load.Result
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		rs, err := load.ParseResults(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, rs...)
	}
	load.Table(stdout, all)
	return nil
}

// expandUsers turns "u%d@d" with n into u1@d..un@d, or splits a list.
func expandUsers(s string, n int) []string {
	if !strings.Contains(s, "%d") {
		return splitList(s)
	}
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, strings.ReplaceAll(s, "%d", strconv.Itoa(i)))
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
