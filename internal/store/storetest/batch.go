package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"mailhouse/internal/store"
)

// RunBatch checks a store's store.BatchReader against its per-message
// reads: open must return a new, empty store implementing it. Like Run,
// it closes the store when the test ends.
func RunBatch(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	testBatch(&env{T: t, s: s, ctx: t.Context()})
}

func testBatch(e *env) {
	br, ok := e.s.(store.BatchReader)
	if !ok {
		e.Fatalf("%T does not implement store.BatchReader", e.s)
	}
	a := e.account("batch@example.org")
	in := e.mailbox(a.ID, "INBOX")
	other := e.mailbox(a.ID, "Archive")
	// Messages with and without a stored structure, with and without a
	// per-copy prefix; one body shared by two copies.
	var uids []store.UID
	for i := range 6 {
		d := store.Delivery{Body: body(fmt.Sprintf("batch-%d", i), 200+100*i)}
		if i%2 == 0 {
			d.Parsed = []byte(fmt.Sprintf("structure %d", i))
		}
		d.Targets = []store.Target{{Mailbox: in.ID}}
		if i == 3 {
			d.Targets[0].Prefix = []byte("Delivered-To: batch@example.org\r\n")
			d.Targets = append(d.Targets, store.Target{Mailbox: other.ID})
		}
		out, err := e.s.Deliver(e.ctx, d)
		e.must(err)
		uids = append(uids, out[0].UID)
	}
	gone, err := e.s.Expunge(e.ctx, in.ID, []store.UID{uids[1]})
	e.must(err)
	if len(gone) != 1 {
		e.Fatalf("Expunge = %v", gone)
	}

	// Asked out of order, with a duplicate, an expunged UID and one that
	// never existed: the ones that exist, once each, by UID.
	ask := []store.UID{uids[5], uids[0], 999, uids[1], uids[3], uids[0], uids[2], uids[4]}
	want := []store.UID{uids[0], uids[2], uids[3], uids[4], uids[5]}
	// The UIDs asked for sparse (with 999) and dense (a store may read
	// these as a range, and must leave out uids[4], not asked for).
	dense := []store.UID{uids[5], uids[3], uids[2], uids[1], uids[0], uids[3]}
	wantDense := []store.UID{uids[0], uids[2], uids[3], uids[5]}
	for i, parts := range []store.BatchParts{0, store.BatchParsed, store.BatchBody, store.BatchParsed | store.BatchBody,
		0, store.BatchParsed, store.BatchBody, store.BatchParsed | store.BatchBody} {
		ask, want := ask, want
		if i >= 4 {
			ask, want = dense, wantDense
		}
		got, err := br.ReadBatch(e.ctx, in.ID, ask, parts)
		e.must(err)
		var gotUIDs []store.UID
		for _, m := range got {
			u := m.Meta.UID
			gotUIDs = append(gotUIDs, u)
			meta, err := e.s.GetMessage(e.ctx, in.ID, u)
			e.must(err)
			if fmt.Sprint(m.Meta) != fmt.Sprint(meta) || !m.Meta.InternalDate.Equal(meta.InternalDate) {
				e.Errorf("parts %d: UID %d: Meta %+v, GetMessage %+v", parts, u, m.Meta, meta)
			}
			parsed, err := e.s.ReadParsed(e.ctx, in.ID, u)
			e.must(err)
			if parts&store.BatchParsed == 0 {
				parsed = nil
			}
			if !bytes.Equal(m.Parsed, parsed) {
				e.Errorf("parts %d: UID %d: Parsed %q, want %q", parts, u, m.Parsed, parsed)
			}
			var msg []byte
			if parts&store.BatchBody != 0 {
				msg, err = e.s.ReadMessage(e.ctx, in.ID, u)
				e.must(err)
			}
			if !bytes.Equal(m.Message, msg) || (msg == nil) != (m.Message == nil) {
				e.Errorf("parts %d: UID %d: Message %q, want %q", parts, u, m.Message, msg)
			}
		}
		if !slices.Equal(gotUIDs, want) {
			e.Errorf("parts %d: UIDs %v, want %v", parts, gotUIDs, want)
		}
	}
	// Flags and modseqs are read fresh.
	_, err = e.s.UpdateFlags(e.ctx, store.FlagUpdate{Mailbox: in.ID, UIDs: []store.UID{uids[2]}, Op: store.FlagsAdd, Flags: []string{store.FlagFlagged}})
	e.must(err)
	got, err := br.ReadBatch(e.ctx, in.ID, []store.UID{uids[2]}, 0)
	e.must(err)
	if len(got) != 1 || !slices.Equal(got[0].Meta.Flags, []string{store.FlagFlagged}) {
		e.Errorf("after STORE: %+v", got)
	}

	// Other mailboxes' messages are not returned; empty and unknown
	// mailboxes give nothing.
	got, err = br.ReadBatch(e.ctx, other.ID, uids, store.BatchBody)
	e.must(err)
	if len(got) != 1 || got[0].Meta.UID != 1 || got[0].Meta.Mailbox != other.ID || !bytes.HasSuffix(got[0].Message, body("batch-3", 500)) {
		e.Errorf("Archive batch = %+v", got)
	}
	if got, err := br.ReadBatch(e.ctx, in.ID, nil, store.BatchBody); err != nil || len(got) != 0 {
		e.Errorf("empty batch = %v, %v", got, err)
	}
	if got, err := br.ReadBatch(e.ctx, 1<<40, uids, store.BatchParsed); err != nil || len(got) != 0 {
		e.Errorf("batch of an unknown mailbox = %v, %v", got, err)
	}

	// The whole allowed size in one call; more is refused.
	many := make([]store.UID, store.MaxBatch)
	for i := range many {
		many[i] = store.UID(i + 1)
	}
	if got, err := br.ReadBatch(e.ctx, in.ID, many, 0); err != nil || len(got) != len(want) {
		e.Errorf("batch of %d UIDs: %d messages, %v", len(many), len(got), err)
	}
	if _, err := br.ReadBatch(e.ctx, in.ID, append(many, 1), 0); err == nil {
		e.Errorf("batch of %d UIDs accepted", len(many)+1)
	}
}
