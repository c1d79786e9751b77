package sqlstore

import (
	"context"
	"time"
)

// WAL checkpoints run off the commit path. SQLite's automatic checkpoint
// runs inside the COMMIT that crosses wal_autocheckpoint pages, so one
// group of deliveries in every few hundred would wait for the WAL to be
// copied into the database file and for two more fsyncs: that is the
// latency tail. The writer therefore has wal_autocheckpoint=0 and this
// goroutine, on its own connection, runs PASSIVE checkpoints (they never
// block the writer nor readers) after commits, at most every
// checkpointEvery. Close runs a final TRUNCATE checkpoint.
//
// Every checkpoint fsyncs the WAL and the database file, and those
// fsyncs compete with the committer's on the same disk: every 100 ms
// they were 20 more fsyncs a second and made group commits slower
// (median 4.6-4.8 ms against 4.0-4.1 ms at 1 s in BenchmarkSMTP on a
// busy disk). A second of WAL is a few tens of MiB at most at our write
// rates, under walSizeLimit.
const (
	checkpointEvery = time.Second
	// walSizeLimit: the WAL file is truncated back to this size when it
	// restarts after a complete checkpoint.
	walSizeLimit = 64 << 20
	// walWarnFrames: a checkpoint that leaves this many frames behind is
	// falling behind (a long-running reader pins old frames); say so.
	walWarnFrames = 256 << 10
)

// kickCheckpoint tells the checkpointer there are new frames. It never
// blocks the committer.
func (s *Store) kickCheckpoint() {
	select {
	case s.ckptWake <- struct{}{}:
	default:
	}
}

func (s *Store) checkpointLoop() {
	defer close(s.ckptDone)
	for {
		select {
		case <-s.ckptStop:
			return
		case <-s.ckptWake:
		}
		var busy, frames, done int
		err := s.cdb.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
		switch {
		case err != nil:
			s.log.Warn("sqlstore: WAL checkpoint", "err", err)
		case frames-done > walWarnFrames:
			s.log.Warn("sqlstore: WAL checkpoint falling behind", "wal_frames", frames, "checkpointed", done)
		}
		select {
		case <-s.ckptStop:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// finalCheckpoint empties the WAL on Close, so that a cleanly stopped
// database is one file. Only called once the committer has stopped.
func (s *Store) finalCheckpoint() {
	if _, err := s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.log.Warn("sqlstore: final WAL checkpoint", "err", err)
	}
}
