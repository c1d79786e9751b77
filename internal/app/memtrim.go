package app

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory trimming after bursts.
//
// Every password check allocates argon2id's whole memory cost on the Go
// heap (19–64 MiB, see internal/auth), so a burst of logins, and the
// dummy hash made at start, raise the heap goal to several times what
// the server keeps alive. Once the burst is over the process allocates
// almost nothing (idle IMAP sessions wait in IDLE), so the next
// collection, and with it the return of the freed pages, would come only
// with the runtime's forced collection two minutes later: meanwhile the
// server holds the burst's garbage. trimMemory watches the allocation
// rate and, when the process has gone quiet with much more heap mapped
// than it keeps alive, collects once and returns the free pages to the
// system. Under load it never runs (the allocation rate is far above
// trimQuietBytes), so it costs throughput nothing.
const (
	// trimInterval is how often the allocation rate is sampled.
	trimInterval = 2 * time.Second
	// trimQuietBytes: allocating less than this in one interval counts
	// as quiet (an idle server allocates a few KiB).
	trimQuietBytes = 1 << 20
	// trimMinBytes: trim only when the heap holds at least this much
	// more than was alive after the last collection. The whole server
	// with 1,000 idle connections holds about 60 MiB, so a few MiB of
	// garbage is worth a collection once the server has gone quiet.
	trimMinBytes = 4 << 20
)

// memSample is what trimMemory reads from runtime/metrics.
type memSample struct {
	allocs   uint64 // bytes allocated since the process started
	mapped   uint64 // heap bytes in objects (live or garbage) and free pages not returned
	live     uint64 // heap bytes alive after the last collection
	released uint64 // heap bytes returned to the system
}

var memMetricNames = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/released:bytes",
}

func readMemSample(s []metrics.Sample) memSample {
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return memSample{allocs: v(0), mapped: v(1) + v(2), live: v(3), released: v(4)}
}

// trimmer decides, sample by sample, when to trim.
//
// What the heap keeps alive is known precisely only after a collection
// with no burst under way. The runtime's own figure (/gc/heap/live) is
// that of its last collection, which, when it ran in the middle of a
// burst, counts the burst's buffers as alive: the heap then looks
// mostly alive and would never be trimmed (the dummy hash made at
// start, 64 MiB, stayed resident this way until the forced collection
// two minutes later). So the trimmer also keeps the live heap it
// measured after its own last trim, and compares with the lower of the
// two.
type trimmer struct {
	last memSample
	// floor is the live heap after the last trim (0 before the first).
	floor uint64
	// trimmed: already trimmed in this quiet spell; wait for activity.
	trimmed bool
}

// due reports whether to trim now, given the sample of this interval.
func (t *trimmer) due(cur memSample) bool {
	quiet := cur.allocs-t.last.allocs < trimQuietBytes
	t.last = cur
	if !quiet {
		t.trimmed = false
		return false
	}
	if t.trimmed || cur.mapped < min(cur.live, t.floor)+trimMinBytes {
		return false
	}
	t.trimmed = true
	return true
}

// done records the sample taken right after a trim.
func (t *trimmer) done(after memSample) {
	t.last = after
	t.floor = after.live
}

// memoryReleaser is a part that can give back memory it holds only for
// speed: sqlstore its idle read connections and clean cache pages,
// imapd its structure cache.
type memoryReleaser interface {
	ReleaseMemory(ctx context.Context) error
}

// trimMemory returns memory to the system after bursts (see above) until
// ctx ends. The parts in rels are asked first, so that what they let go
// is collected by the same trim.
func trimMemory(ctx context.Context, log *slog.Logger, rels []memoryReleaser) {
	s := make([]metrics.Sample, len(memMetricNames))
	for i, n := range memMetricNames {
		s[i].Name = n
	}
	tick := time.NewTicker(trimInterval)
	defer tick.Stop()
	t := trimmer{last: readMemSample(s)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur := readMemSample(s)
		if !t.due(cur) {
			continue
		}
		start := time.Now()
		for _, rel := range rels {
			rctx, cancel := context.WithTimeout(ctx, trimInterval)
			if err := rel.ReleaseMemory(rctx); err != nil {
				log.Warn("could not release memory", "err", err)
			}
			cancel()
		}
		debug.FreeOSMemory()
		after := readMemSample(s)
		log.Debug("returned memory after a burst", "heap_before", cur.mapped, "heap_after", after.mapped,
			"released", after.released-cur.released, "took", time.Since(start).Round(time.Microsecond))
		t.done(after)
	}
}

// releasers are the parts of the app that can give back memory when the
// server goes quiet.
func (a *App) releasers() []memoryReleaser {
	var rels []memoryReleaser
	if a.imap != nil {
		rels = append(rels, a.imap)
	}
	if r, ok := a.Store.(memoryReleaser); ok {
		rels = append(rels, r)
	}
	return rels
}
