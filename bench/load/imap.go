package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// IMAP mix operations.
const (
	OpSelect       = "select"        // SELECT INBOX + UID FETCH 1:* (FLAGS): a client resync
	OpFetchHeaders = "fetch_headers" // UID FETCH of a 20-message window: envelope headers, size, flags
	OpFetchBody    = "fetch_body"    // UID FETCH one message: BODYSTRUCTURE and BODY.PEEK[]
	OpStore        = "store"         // UID STORE +/-FLAGS (\Flagged or \Seen)
	OpSearch       = "search"        // UID SEARCH UNSEEN, or a SUBJECT text search
	OpAppend       = "append"        // APPEND a new message
	OpExpunge      = "expunge"       // UID STORE +FLAGS.SILENT (\Deleted) + UID EXPUNGE one this session appended
	OpIdle         = "idle"          // IDLE, hold, DONE
)

// DefaultMix is the weighted operation mix of the IMAP scenario: mostly
// reading, some flag changes, and appends balanced by expunges so the
// mailbox keeps its size.
var DefaultMix = Mix{
	OpSelect: 5, OpFetchHeaders: 20, OpFetchBody: 25, OpStore: 15,
	OpSearch: 10, OpAppend: 10, OpExpunge: 10, OpIdle: 5,
}

// Mix maps an operation to its weight.
type Mix map[string]int

// ParseMix reads "op=weight,op=weight"; ops missing get weight 0.
func ParseMix(s string) (Mix, error) {
	m := Mix{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("mix: bad %q (want op=weight)", kv)
		}
		if _, known := DefaultMix[k]; !known {
			return nil, fmt.Errorf("mix: unknown operation %q", k)
		}
		m[k] = n
	}
	return m, nil
}

func (m Mix) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ",")
}

// IMAPOptions configure the IMAP mixed-load scenario.
type IMAPOptions struct {
	Target   Target
	Users    []string // session i logs in as Users[i%len(Users)]
	Pass     string
	Conns    int
	Duration time.Duration
	Mix      Mix
	Size     int           // APPENDed message size; default 4096
	IdleHold time.Duration // time held in IDLE; default 10ms (not counted in its latency)
	// MaxErrors aborts the run after that many failed operations. Default 100.
	MaxErrors int
	// Seed makes the operation sequence reproducible.
	Seed uint64
}

// IMAPResult is the outcome of the IMAP scenario.
type IMAPResult struct {
	Elapsed time.Duration
	Ops     []OpSummary
	Total   OpSummary
}

// Result renders the machine-readable line.
func (r IMAPResult) Result(o IMAPOptions) Result {
	res := Result{Scenario: "imap"}
	res.Add("conns", "%d", o.Conns)
	res.Add("seconds", "%.1f", r.Elapsed.Seconds())
	res.Add("ops", "%d", r.Total.Count)
	res.Add("errors", "%d", r.Total.Errors)
	res.Add("ops_per_sec", "%.1f", r.Total.PerSec)
	res.Add("p50_ms", "%s", ms(r.Total.P50))
	res.Add("p99_ms", "%s", ms(r.Total.P99))
	res.Add("max_ms", "%s", ms(r.Total.Max))
	for _, s := range r.Ops {
		res.Add(s.Name+"_p99_ms", "%s", ms(s.P99))
	}
	return res
}

// RunIMAP logs every session in (untimed), then runs the mix for
// Duration and reports operations per second and latencies.
func RunIMAP(ctx context.Context, o IMAPOptions) (IMAPResult, error) {
	if err := o.Target.Validate(); err != nil {
		return IMAPResult{}, err
	}
	if o.Conns <= 0 || len(o.Users) == 0 || o.Duration <= 0 {
		return IMAPResult{}, errors.New("imap: need conns > 0, users and a duration")
	}
	if o.Mix == nil {
		o.Mix = DefaultMix
	}
	if o.Size <= 0 {
		o.Size = 4096
	}
	if o.IdleHold == 0 {
		o.IdleHold = 10 * time.Millisecond
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = 100
	}
	pick, err := o.Mix.picker()
	if err != nil {
		return IMAPResult{}, err
	}
	workers := make([]*imapWorker, o.Conns)
	var wg sync.WaitGroup
	errs := make([]error, o.Conns)
	sem := make(chan struct{}, 8) // logins at a time
	for i := range workers {
		w := &imapWorker{o: o, id: i, user: o.Users[i%len(o.Users)], rec: NewRecorder(),
			rng: rand.New(rand.NewPCG(o.Seed, uint64(i)))}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = w.connect()
		}()
	}
	wg.Wait()
	defer func() {
		for _, w := range workers {
			if w.c != nil {
				w.c.logout()
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return IMAPResult{}, fmt.Errorf("imap: setting up sessions: %w", err)
	}

	var errCount atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	end := start.Add(o.Duration)
	var fatal error
	var fatalOnce sync.Once
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				op := pick(w.rng)
				if err := w.do(op); err != nil {
					w.rec.Error(op, err)
					if errCount.Add(1) > int64(o.MaxErrors) {
						fatalOnce.Do(func() { fatal = fmt.Errorf("imap: too many errors, last in %s: %w", op, err) })
						cancel()
						return
					}
					var no *ErrNo
					if !errors.As(err, &no) { // connection trouble: start over
						w.c.Close()
						w.c = nil
						if err := w.connect(); err != nil {
							continue
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if fatal != nil {
		return IMAPResult{}, fatal
	}
	rec := NewRecorder()
	for _, w := range workers {
		rec.Merge(w.rec)
	}
	ops, total := rec.Summary(elapsed)
	return IMAPResult{Elapsed: elapsed, Ops: ops, Total: total}, nil
}

// picker returns a weighted random operation chooser.
func (m Mix) picker() (func(*rand.Rand) string, error) {
	var ops []string
	var cum []int
	sum := 0
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if m[k] > 0 {
			sum += m[k]
			ops = append(ops, k)
			cum = append(cum, sum)
		}
	}
	if sum == 0 {
		return nil, errors.New("mix: all weights are zero")
	}
	return func(r *rand.Rand) string {
		n := r.IntN(sum)
		i, _ := slices.BinarySearch(cum, n+1)
		return ops[i]
	}, nil
}

type imapWorker struct {
	o        IMAPOptions
	id       int
	user     string
	c        *imapClient
	rec      *Recorder
	rng      *rand.Rand
	uids     []uint32 // UIDs seen at the last resync, plus appends
	appended []uint32 // this session's appends, oldest first (expunge takes from here)
	seq      int
}

// connect dials, logs in and selects INBOX (untimed).
func (w *imapWorker) connect() error {
	c, err := dialIMAP(w.o.Target)
	if err != nil {
		return err
	}
	if err := c.login(w.user, w.o.Pass); err != nil {
		c.Close()
		return fmt.Errorf("login %s: %w", w.user, err)
	}
	w.c = c
	return w.resync()
}

func (w *imapWorker) resync() error {
	if _, err := w.c.cmd("SELECT INBOX"); err != nil {
		return err
	}
	if _, err := w.c.cmd("UID FETCH 1:* (FLAGS)"); err != nil {
		var no *ErrNo
		if !errors.As(err, &no) || !strings.Contains(asciiUpper(no.Line), "[EXPUNGEISSUED]") {
			return err
		}
	}
	w.uids = parseUIDs(w.c.untagged, w.uids[:0])
	return nil
}

func (w *imapWorker) randomUID() uint32 {
	if len(w.uids) == 0 {
		return 1
	}
	return w.uids[w.rng.IntN(len(w.uids))]
}

// do runs one operation and records its latency.
func (w *imapWorker) do(op string) error {
	if w.c == nil {
		if err := w.connect(); err != nil {
			return err
		}
	}
	if op == OpExpunge && len(w.appended) == 0 {
		op = OpAppend // only expunge what we added: the mailbox keeps its size
	}
	t0 := time.Now()
	var err error
	switch op {
	case OpSelect:
		err = w.resync()
	case OpFetchHeaders:
		lo, hi := uint32(1), uint32(1)
		if n := len(w.uids); n > 0 {
			i := w.rng.IntN(max(1, n-19))
			lo, hi = w.uids[i], w.uids[min(n-1, i+19)]
		}
		_, err = w.c.cmd("UID FETCH %d:%d (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])", lo, hi)
	case OpFetchBody:
		_, err = w.c.cmd("UID FETCH %d (UID BODYSTRUCTURE BODY.PEEK[])", w.randomUID())
	case OpStore:
		sign, flag := "+", `\Flagged`
		if w.rng.IntN(2) == 0 {
			sign = "-"
		}
		if w.rng.IntN(2) == 0 {
			flag = `\Seen`
		}
		_, err = w.c.cmd("UID STORE %d %sFLAGS (%s)", w.randomUID(), sign, flag)
	case OpSearch:
		if w.rng.IntN(2) == 0 {
			_, err = w.c.cmd("UID SEARCH UNSEEN")
		} else {
			_, err = w.c.cmd("UID SEARCH SUBJECT %s", quote(fmt.Sprintf("message %d.", w.rng.IntN(20))))
		}
	case OpAppend:
		w.seq++
		msg := Message("loadgen@loadgen.test", w.user, w.o.Size, 100000+w.id, w.seq)
		var uid uint32
		uid, err = w.c.appendMsg("INBOX", "", msg)
		if err == nil && uid != 0 {
			w.appended = append(w.appended, uid)
			w.uids = append(w.uids, uid)
		}
	case OpExpunge:
		uid := w.appended[0]
		w.appended = w.appended[1:]
		if _, err = w.c.cmd(`UID STORE %d +FLAGS.SILENT (\Deleted)`, uid); err == nil {
			if w.c.caps["UIDPLUS"] || w.c.caps["IMAP4REV2"] {
				_, err = w.c.cmd("UID EXPUNGE %d", uid)
			} else {
				_, err = w.c.cmd("EXPUNGE")
			}
		}
		if i := slices.Index(w.uids, uid); i >= 0 {
			w.uids = slices.Delete(w.uids, i, i+1)
		}
	case OpIdle:
		var d time.Duration
		d, err = w.c.idle(w.o.IdleHold)
		if err == nil {
			w.rec.Observe(op, d)
		}
		return err
	default:
		return fmt.Errorf("unknown operation %q", op)
	}
	// RFC 9051 §7.1: NO [EXPUNGEISSUED] means another session expunged
	// some of the messages asked for; the command ran, as a client sees it.
	var no *ErrNo
	if errors.As(err, &no) && strings.Contains(asciiUpper(no.Line), "[EXPUNGEISSUED]") {
		err = nil
	}
	if err == nil {
		w.rec.Observe(op, time.Since(t0))
	}
	return err
}
