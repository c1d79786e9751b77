package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"mailhouse/internal/store"
)

// testConcurrent: 20 goroutines deliver while 10 change flags, all at
// once. Every delivery must land with a unique UID, UIDs must ascend with
// modseqs, and counters must agree with the rows.
func testConcurrent(e *env) {
	const (
		deliverers = 20
		perDeliver = 25
		flaggers   = 10
		perFlag    = 25
	)
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	other := e.account("carol@example.org")
	oin := e.mailbox(other.ID, "INBOX")

	var wg sync.WaitGroup
	errs := make(chan error, deliverers+flaggers)
	delivered := make(chan store.Delivered, deliverers*perDeliver*2)
	for g := range deliverers {
		wg.Go(func() {
			for i := range perDeliver {
				out, err := e.s.Deliver(e.ctx, store.Delivery{
					Body:    body(fmt.Sprintf("c-%d-%d", g, i), 2000),
					Targets: []store.Target{{Mailbox: in.ID}, {Mailbox: oin.ID}},
				})
				if err != nil {
					errs <- err
					return
				}
				delivered <- out[0]
				delivered <- out[1]
			}
		})
	}
	var flagMu sync.Mutex
	var updates []store.MessageMeta
	for g := range flaggers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range perFlag {
				st, err := e.s.MailboxStatus(e.ctx, in.ID)
				if err != nil {
					errs <- err
					return
				}
				uid := store.UID(1 + rng.IntN(int(st.UIDNext))) // sometimes not there yet
				r, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{
					Mailbox: in.ID, UIDs: []store.UID{uid}, Op: store.FlagsAdd,
					Flags: []string{fmt.Sprintf("$g%d", g)},
				})
				if err != nil {
					errs <- err
					return
				}
				for _, m := range r.Updated {
					if m.ModSeq <= st.HighestModSeq {
						errs <- fmt.Errorf("flag change got modseq %d, not above %d seen before it", m.ModSeq, st.HighestModSeq)
					}
				}
				flagMu.Lock()
				updates = append(updates, r.Updated...)
				flagMu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	close(delivered)
	for err := range errs {
		e.Error(err)
	}
	if e.Failed() {
		return
	}

	byMailbox := map[store.MailboxID][]store.Delivered{}
	for d := range delivered {
		byMailbox[d.Mailbox] = append(byMailbox[d.Mailbox], d)
	}
	for _, mb := range []store.MailboxID{in.ID, oin.ID} {
		ds := byMailbox[mb]
		if len(ds) != deliverers*perDeliver {
			e.Errorf("mailbox %d: %d deliveries answered, want %d", mb, len(ds), deliverers*perDeliver)
		}
		// UIDs unique, and a later UID always has a later modseq.
		slices.SortFunc(ds, func(a, b store.Delivered) int { return int(a.UID) - int(b.UID) })
		for i := 1; i < len(ds); i++ {
			if ds[i].UID == ds[i-1].UID {
				e.Errorf("mailbox %d: UID %d given twice", mb, ds[i].UID)
			}
			if ds[i].ModSeq <= ds[i-1].ModSeq {
				e.Errorf("mailbox %d: UID %d has modseq %d, UID %d has %d", mb, ds[i-1].UID, ds[i-1].ModSeq, ds[i].UID, ds[i].ModSeq)
			}
		}
		msgs := e.list(mb)
		if len(msgs) != len(ds) {
			e.Errorf("mailbox %d holds %d messages, want %d", mb, len(msgs), len(ds))
		}
		st := e.status(mb)
		if st.Messages != len(msgs) || st.Unseen != len(msgs) {
			e.Errorf("mailbox %d status %+v for %d messages", mb, st, len(msgs))
		}
		var size int64
		for i, m := range msgs {
			size += m.Size
			if i > 0 && m.UID <= msgs[i-1].UID {
				e.Errorf("ListMessages not in ascending UID order at %d", i)
			}
			if m.ModSeq > st.HighestModSeq {
				e.Errorf("message %d modseq %d above the mailbox's %d", m.UID, m.ModSeq, st.HighestModSeq)
			}
		}
		if size != st.Size || st.UIDNext <= msgs[len(msgs)-1].UID {
			e.Errorf("mailbox %d status %+v, sizes sum to %d", mb, st, size)
		}
		// Every message is in Changes(0), with its current modseq.
		c, err := e.s.Changes(e.ctx, mb, 0)
		e.must(err)
		if len(c.Messages) != len(msgs) || c.HighestModSeq != st.HighestModSeq {
			e.Errorf("Changes(0): %d messages, highest %d; want %d, %d", len(c.Messages), c.HighestModSeq, len(msgs), st.HighestModSeq)
		}
	}
	// Each flag change is there (keywords only accumulate).
	final := map[store.UID][]string{}
	for _, m := range e.list(in.ID) {
		final[m.UID] = m.Flags
	}
	seenModSeq := map[store.ModSeq]store.UID{}
	for _, u := range updates {
		for _, f := range u.Flags {
			if !slices.Contains(final[u.UID], f) {
				e.Errorf("message %d lost flag %s", u.UID, f)
			}
		}
		// One modseq per write per mailbox: two writes never share one.
		if prev, ok := seenModSeq[u.ModSeq]; ok && prev != u.UID {
			e.Errorf("modseq %d given to flag changes of %d and %d", u.ModSeq, prev, u.UID)
		}
		seenModSeq[u.ModSeq] = u.UID
	}
}

// testContext: a cancelled context stops a call before it changes
// anything.
func testContext(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.s.Deliver(ctx, store.Delivery{Body: body("x", 10), Targets: []store.Target{{Mailbox: in.ID}}})
	if !errors.Is(err, context.Canceled) {
		e.Errorf("Deliver with a cancelled context: %v", err)
	}
	_, err = e.s.CreateMailbox(ctx, a.ID, "X", "")
	if !errors.Is(err, context.Canceled) {
		e.Errorf("CreateMailbox with a cancelled context: %v", err)
	}
	if st := e.status(in.ID); st.Messages != 0 {
		e.Errorf("a cancelled delivery stored %d messages", st.Messages)
	}
	if _, err := e.s.GetMailbox(e.ctx, a.ID, "X"); !errors.Is(err, store.ErrNotFound) {
		e.Errorf("a cancelled CreateMailbox created it: %v", err)
	}

	// Deadlines racing with writes: whatever a call returns must be true.
	// A nil error means the message is there; an error means it is not.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 40 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(e.ctx, time.Duration(i%8)*100*time.Microsecond)
			defer cancel()
			_, err := e.s.Deliver(ctx, store.Delivery{Body: body(fmt.Sprint("race", i), 1000), Targets: []store.Target{{Mailbox: in.ID}}})
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, context.DeadlineExceeded) {
				e.Errorf("Deliver: %v", err)
			}
		})
	}
	wg.Wait()
	if st := e.status(in.ID); st.Messages != ok {
		e.Errorf("%d deliveries reported success, %d messages stored", ok, st.Messages)
	}
}

// testClose: after Close every call fails with ErrClosed.
func testClose(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	ch, cancel := e.s.Subscribe(a.ID)
	defer cancel()
	e.must(e.s.Close())
	e.must(e.s.Close())
	_, err := e.s.Deliver(e.ctx, store.Delivery{Body: body("x", 10), Targets: []store.Target{{Mailbox: in.ID}}})
	e.wantErr(err, store.ErrClosed)
	_, err = e.s.GetAccount(e.ctx, "bob@example.org")
	e.wantErr(err, store.ErrClosed)
	_, err = e.s.ListMessages(e.ctx, in.ID)
	e.wantErr(err, store.ErrClosed)
	_, err = e.s.TryLock(e.ctx, "x")
	e.wantErr(err, store.ErrClosed)
	// The channel may still hold the event of the account's creation
	// (published after the writer was answered, so possibly after
	// Subscribe); nothing else, and then it is closed.
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				return
			}
			if ev.Kind != store.EventMailboxes || ev.Account != a.ID {
				e.Errorf("event after Close: %+v", ev)
			}
		case <-timeout:
			e.Error("Close did not close the feed channel")
			return
		}
	}
}
