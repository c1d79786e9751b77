package app

import (
	"runtime"
	"testing"
)

// Password checks leave one processor free, and run one at a time on a
// single processor.
func TestLoginHashes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, want := range map[int]int{1: 1, 2: 1, 4: 3, 16: 15} {
		runtime.GOMAXPROCS(procs)
		if got := loginHashes(); got != want {
			t.Errorf("GOMAXPROCS %d: %d checks at once, want %d", procs, got, want)
		}
	}
}
