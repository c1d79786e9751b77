package load

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxSamples bounds the latency samples kept per operation; past it,
// samples are kept by reservoir sampling so memory stays bounded on long
// runs while percentiles stay unbiased.
const maxSamples = 1 << 20

// Recorder collects latencies per operation name. It is safe for
// concurrent use; workers usually keep their own and Merge at the end.
type Recorder struct {
	mu  sync.Mutex
	ops map[string]*opStats
}

type opStats struct {
	count    int64
	errors   int64
	firstErr string
	samples  []time.Duration
	seen     uint64 // for reservoir sampling
	rng      uint64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{ops: map[string]*opStats{}} }

func (r *Recorder) op(name string) *opStats {
	o := r.ops[name]
	if o == nil {
		o = &opStats{rng: 0x9e3779b97f4a7c15}
		r.ops[name] = o
	}
	return o
}

// Observe records one successful operation that took d.
func (r *Recorder) Observe(name string, d time.Duration) {
	r.mu.Lock()
	o := r.op(name)
	o.count++
	o.add(d)
	r.mu.Unlock()
}

// Error records one failed operation; the first error of each
// operation is kept for the report.
func (r *Recorder) Error(name string, err error) {
	r.mu.Lock()
	o := r.op(name)
	o.errors++
	if o.firstErr == "" && err != nil {
		o.firstErr = err.Error()
	}
	r.mu.Unlock()
}

func (o *opStats) add(d time.Duration) {
	o.seen++
	if len(o.samples) < maxSamples {
		o.samples = append(o.samples, d)
		return
	}
	// xorshift: cheap and deterministic; quality is ample for sampling.
	o.rng ^= o.rng << 13
	o.rng ^= o.rng >> 7
	o.rng ^= o.rng << 17
	if j := o.rng % o.seen; j < maxSamples {
		o.samples[j] = d
	}
}

// Merge adds other's observations to r.
func (r *Recorder) Merge(other *Recorder) {
	other.mu.Lock()
	defer other.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, o := range other.ops {
		m := r.op(name)
		m.count += o.count
		m.errors += o.errors
		if m.firstErr == "" {
			m.firstErr = o.firstErr
		}
		for _, d := range o.samples {
			m.add(d)
		}
	}
}

// OpSummary is the result for one operation over a run.
type OpSummary struct {
	Name     string
	Count    int64
	Errors   int64
	PerSec   float64
	P50, P99 time.Duration
	Max      time.Duration
	FirstErr string // the first error seen, if any
}

// Summary computes per-operation summaries over a run of length elapsed,
// sorted by name, plus the total over all operations.
func (r *Recorder) Summary(elapsed time.Duration) (ops []OpSummary, total OpSummary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []time.Duration
	for name, o := range r.ops {
		s := summarize(name, o.count, o.errors, o.samples, elapsed)
		s.FirstErr = o.firstErr
		ops = append(ops, s)
		all = append(all, o.samples...)
		total.Count += o.count
		total.Errors += o.errors
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
	total = summarize("total", total.Count, total.Errors, all, elapsed)
	return ops, total
}

func summarize(name string, count, errors int64, samples []time.Duration, elapsed time.Duration) OpSummary {
	s := OpSummary{Name: name, Count: count, Errors: errors}
	if elapsed > 0 {
		s.PerSec = float64(count) / elapsed.Seconds()
	}
	if len(samples) > 0 {
		sorted := slices.Clone(samples)
		slices.Sort(sorted)
		s.P50 = Percentile(sorted, 50)
		s.P99 = Percentile(sorted, 99)
		s.Max = sorted[len(sorted)-1]
	}
	return s
}

// Percentile returns the p-th percentile (nearest rank) of sorted samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// PrintTable writes a human-readable table of ops and, when not nil, the
// total.
func PrintTable(w io.Writer, ops []OpSummary, total *OpSummary) {
	fmt.Fprintf(w, "%-14s %9s %7s %10s %9s %9s %9s\n", "operation", "count", "errors", "per_sec", "p50_ms", "p99_ms", "max_ms")
	rows := ops
	if total != nil {
		rows = append(rows, *total)
	}
	for _, s := range rows {
		fmt.Fprintf(w, "%-14s %9d %7d %10.1f %9s %9s %9s\n", s.Name, s.Count, s.Errors, s.PerSec, ms(s.P50), ms(s.P99), ms(s.Max))
	}
	for _, s := range ops {
		if s.FirstErr != "" {
			fmt.Fprintf(w, "first %s error: %s\n", s.Name, s.FirstErr)
		}
	}
}

// Result is the one-line machine-readable outcome of a scenario, printed
// as "RESULT key=value ..." for scripts (bench/compare.sh parses it).
type Result struct {
	Scenario string
	Fields   []Field
}

// Field is one key=value of a Result.
type Field struct {
	Key   string
	Value string
}

// Add appends a field.
func (r *Result) Add(key string, format string, args ...any) {
	r.Fields = append(r.Fields, Field{key, fmt.Sprintf(format, args...)})
}

// String renders the RESULT line.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString("RESULT scenario=" + r.Scenario)
	for _, f := range r.Fields {
		b.WriteString(" " + f.Key + "=" + f.Value)
	}
	return b.String()
}

// Get returns a field's value, or "".
func (r Result) Get(key string) string {
	for _, f := range r.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}
