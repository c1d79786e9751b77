package storetest

import (
	"errors"
	"time"

	"mailhouse/internal/store"
)

// testFeed: events arrive after commit (the change is visible when the
// event is received), for the right account only, and cancel closes the
// channel.
//
// A store publishes a write's events after answering the writer, so a
// subscription made right after a write may still receive its event:
// here the mailboxes event of the account's creation.
func testFeed(e *env) {
	a := e.account("bob@example.org")
	b := e.account("carol@example.org")
	in := e.mailbox(a.ID, "INBOX")
	ch, cancel := e.s.Subscribe(a.ID)
	chB, cancelB := e.s.Subscribe(b.ID)
	defer cancelB()

	for i := range 5 {
		d := e.deliver(body("feed", 100), in.ID)[0]
		ev := e.recv(ch)
		for i == 0 && ev.Kind == store.EventMailboxes && ev.Account == a.ID {
			ev = e.recv(ch) // the account's creation, published late
		}
		if ev.Kind != store.EventMessages || ev.Account != a.ID || ev.Mailbox != in.ID || ev.ModSeq != d.ModSeq {
			e.Fatalf("event %d = %+v, want messages event for %+v", i, ev, d)
		}
		// After commit: a reader sees the change at once.
		m, err := e.s.GetMessage(e.ctx, in.ID, d.UID)
		if err != nil || m.ModSeq != d.ModSeq {
			e.Fatalf("message of the event not visible: %+v, %v", m, err)
		}
	}
	r, err := e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{1}, Op: store.FlagsAdd, Flags: []string{`\Seen`}})
	e.must(err)
	if ev := e.recv(ch); ev.Kind != store.EventMessages || ev.ModSeq != r.Updated[0].ModSeq {
		e.Errorf("flag event %+v, want modseq %d", ev, r.Updated[0].ModSeq)
	}
	_, err = e.s.Expunge(e.ctx, in.ID, []store.UID{1})
	e.must(err)
	if ev := e.recv(ch); ev.Kind != store.EventMessages || ev.ModSeq != e.status(in.ID).HighestModSeq {
		e.Errorf("expunge event %+v", ev)
	}
	e.create(a.ID, "New")
	if ev := e.recv(ch); ev.Kind != store.EventMailboxes || ev.Account != a.ID || ev.Mailbox != 0 {
		e.Errorf("mailbox event %+v", ev)
	}
	// A failed write publishes nothing. Carol may still get the event of
	// her own account's creation: events go out after the writer is
	// answered, so one can reach a subscription made just after; but
	// never one of bob's.
	_, err = e.s.CreateMailbox(e.ctx, a.ID, "New", "")
	e.wantErr(err, store.ErrExists)
	quiet := time.After(50 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case ev := <-ch:
			e.Errorf("event %+v for a failed write", ev)
		case ev := <-chB:
			if ev.Account != b.ID {
				e.Errorf("carol got bob's event %+v", ev)
			}
		case <-quiet:
			waiting = false
		}
	}

	cancel()
	cancel() // harmless twice
	for range ch {
		// Drain what was buffered; the loop ends because cancel closed it.
	}
}

// testFeedCoalesce: a subscriber that does not read does not slow the
// writers, loses nothing it needs (each mailbox's latest modseq arrives).
func testFeedCoalesce(e *env) {
	a := e.account("bob@example.org")
	in := e.mailbox(a.ID, "INBOX")
	arch := e.mailbox(a.ID, "Archive")
	ch, cancel := e.s.Subscribe(a.ID)
	defer cancel()

	const n = 300 // far more than any sane buffer
	start := time.Now()
	var last, lastArch store.ModSeq
	for i := range n {
		last = e.deliver(body("c", 50), in.ID)[0].ModSeq
		if i%50 == 0 {
			lastArch = e.deliver(body("a", 50), arch.ID)[0].ModSeq
		}
	}
	if d := time.Since(start); d > 30*time.Second {
		e.Errorf("writes with an unread subscription took %v", d)
	}
	got := map[store.MailboxID]store.ModSeq{}
	deadline := time.After(15 * time.Second)
	for got[in.ID] != last || got[arch.ID] != lastArch {
		select {
		case ev := <-ch:
			if ev.ModSeq < got[ev.Mailbox] {
				// Allowed (an older event may still be queued) but note it.
				e.Logf("older event %+v after modseq %d", ev, got[ev.Mailbox])
			}
			got[ev.Mailbox] = max(got[ev.Mailbox], ev.ModSeq)
		case <-deadline:
			e.Fatalf("latest modseqs not delivered: got %v, want INBOX %d, Archive %d", got, last, lastArch)
		}
	}
}

func testLocker(e *env) {
	unlock, err := e.s.TryLock(e.ctx, "pop3:bob@example.org")
	e.must(err)
	_, err = e.s.TryLock(e.ctx, "pop3:bob@example.org")
	e.wantErr(err, store.ErrLocked, "pop3:bob@example.org")
	other, err := e.s.TryLock(e.ctx, "pop3:carol@example.org")
	e.must(err)
	unlock()
	unlock() // harmless twice: must not release a later holder's lock
	again, err := e.s.TryLock(e.ctx, "pop3:bob@example.org")
	e.must(err)
	unlock()
	if _, err := e.s.TryLock(e.ctx, "pop3:bob@example.org"); !errors.Is(err, store.ErrLocked) {
		e.Errorf("a stale unlock released the new holder's lock: %v", err)
	}
	again()
	other()
}
