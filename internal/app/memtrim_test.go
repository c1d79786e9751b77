package app

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// The trimmer trims once when the process goes quiet holding much more
// heap than it keeps alive, never while it allocates, and not again
// until it has been busy in between. A collection that ran in the
// middle of a burst (its live figure counting the burst's buffers) does
// not keep the garbage from being returned.
func TestTrimmerDue(t *testing.T) {
	const MiB = 1 << 20
	tr := trimmer{}
	steps := []struct {
		name                 string
		allocs, mapped, live uint64
		want                 bool
		afterLive            uint64 // live heap after the trim, when want
	}{
		{"start: dummy hash collected while alive", 70 * MiB, 70 * MiB, 66 * MiB, false, 0},
		{"quiet after start", 70*MiB + 10_000, 70 * MiB, 66 * MiB, true, 3 * MiB},
		{"login burst: allocating", 400 * MiB, 150 * MiB, 80 * MiB, false, 0},
		{"still allocating", 800 * MiB, 160 * MiB, 80 * MiB, false, 0},
		{"quiet with the burst's garbage", 800*MiB + 10_000, 160 * MiB, 80 * MiB, true, 12 * MiB},
		{"quiet, already trimmed", 800*MiB + 20_000, 20 * MiB, 12 * MiB, false, 0},
		{"still quiet", 800*MiB + 30_000, 20 * MiB, 12 * MiB, false, 0},
		{"busy again", 900 * MiB, 120 * MiB, 12 * MiB, false, 0},
		{"quiet after the second burst", 900*MiB + 1000, 120 * MiB, 12 * MiB, true, 30 * MiB},
		{"busy", 1000 * MiB, 33 * MiB, 32 * MiB, false, 0},
		{"quiet, little garbage", 1000*MiB + 1000, 33 * MiB, 32 * MiB, false, 0},
		{"busy, a collection in the burst", 1100 * MiB, 90 * MiB, 85 * MiB, false, 0},
		{"quiet, that collection's live figure stale", 1100*MiB + 1000, 90 * MiB, 85 * MiB, true, 30 * MiB},
	}
	for _, s := range steps {
		got := tr.due(memSample{allocs: s.allocs, mapped: s.mapped, live: s.live})
		if got != s.want {
			t.Errorf("%s: due = %v, want %v", s.name, got, s.want)
		}
		if got {
			tr.done(memSample{allocs: s.allocs, mapped: s.afterLive + MiB, live: s.afterLive})
		}
	}
}

// readMemSample reads what the runtime reports: the heap holds at least
// what a live allocation needs, and allocations count.
func TestReadMemSample(t *testing.T) {
	s := make([]metrics.Sample, len(memMetricNames))
	for i, n := range memMetricNames {
		s[i].Name = n
	}
	before := readMemSample(s)
	keep := make([]byte, 8<<20)
	runtime.GC()
	after := readMemSample(s)
	if after.allocs-before.allocs < 8<<20 {
		t.Errorf("allocs grew by %d after an 8 MiB allocation", after.allocs-before.allocs)
	}
	if after.live < 8<<20 || after.mapped < after.live {
		t.Errorf("live %d, mapped %d with 8 MiB alive", after.live, after.mapped)
	}
	runtime.KeepAlive(keep)
}
