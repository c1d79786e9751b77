package sqlstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// ReleaseMemory closes the idle read connections and leaves a store
// that reads and writes as before, also when it runs while deliveries
// and reads are under way.
func TestReleaseMemory(t *testing.T) {
	s, _, in := setup(t, filepath.Join(t.TempDir(), "mail.db"))
	uids := deliverN(t, s, in.ID, 20)
	ctx := t.Context()

	// Several readers at once, so that the pool holds several connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, u := range uids {
				if _, err := s.ReadMessage(ctx, in.ID, u); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := s.rdb.Stats().Idle; n == 0 {
		t.Fatal("no idle read connection after the reads")
	}
	if err := s.ReleaseMemory(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.rdb.Stats().Idle; n != 0 {
		t.Errorf("%d idle read connections after ReleaseMemory", n)
	}

	// Released while busy: every write and read still succeeds.
	busy, stop := context.WithCancel(ctx)
	wg.Go(func() {
		for busy.Err() == nil {
			if err := s.ReleaseMemory(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	more := deliverN(t, s, in.ID, 30)
	for _, u := range append(uids, more...) {
		if _, err := s.ReadMessage(ctx, in.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	if max := s.rdb.Stats().MaxOpenConnections; max < 4 {
		t.Errorf("read pool bound %d after ReleaseMemory", max)
	}
	checkIntegrity(t, s)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseMemory(ctx); err != nil {
		t.Errorf("ReleaseMemory on a closed store: %v", err)
	}
}
