// Package storetest is the conformance suite every store.Store
// implementation must pass: Run it from the implementation's tests with a
// function that opens a fresh, empty store.
//
// It checks behaviour through the store interfaces only, plus one
// optional window into storage (Inspector) for what the interfaces hide:
// that a body shared by many recipients is stored once, and removed with
// its last message. It is not a benchmark, and it does not test
// durability across crashes (that needs the implementation's own
// process-level test).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/store"
)

// Inspector lets the suite see storage the interfaces hide. The store
// returned by Run's open function should implement it (a test wrapper
// around the real store is fine); the subtests that need it fail
// otherwise.
type Inspector interface {
	// CountBodies returns how many message bodies are stored.
	CountBodies(ctx context.Context) (int64, error)
}

// Run runs the suite. open must return a new, empty store for each call;
// Run closes it when the subtest ends (a second Close must be harmless).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*env)
	}{
		{"Domains", testDomains},
		{"Accounts", testAccounts},
		{"Aliases", testAliases},
		{"Mailboxes", testMailboxes},
		{"UIDValidity", testUIDValidity},
		{"Rename", testRename},
		{"RenameInbox", testRenameInbox},
		{"DeleteMailbox", testDeleteMailbox},
		{"Deliver", testDeliver},
		{"DeliverAtomic", testDeliverAtomic},
		{"StoredOnce", testStoredOnce},
		{"Flags", testFlags},
		{"UnchangedSince", testUnchangedSince},
		{"Expunge", testExpunge},
		{"Changes", testChanges},
		{"CopyMove", testCopyMove},
		{"StatusUsage", testStatusUsage},
		{"Concurrent", testConcurrent},
		{"Feed", testFeed},
		{"FeedCoalesce", testFeedCoalesce},
		{"Locker", testLocker},
		{"Context", testContext},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(&env{T: t, s: s, ctx: t.Context()})
		})
	}
}

// env is one subtest's store and helpers.
type env struct {
	*testing.T
	s   store.Store
	ctx context.Context
}

func (e *env) must(err error) {
	e.Helper()
	if err != nil {
		e.Fatal(err)
	}
}

// wantErr checks errors.Is(err, target) and that the message says what
// it is about.
func (e *env) wantErr(err, target error, mentions ...string) {
	e.Helper()
	if !errors.Is(err, target) {
		e.Fatalf("got error %v, want %v", err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			e.Errorf("error %q does not mention %q", err, m)
		}
	}
}

// domain adds a domain unless it exists.
func (e *env) domain(name string) {
	e.Helper()
	if _, err := e.s.GetDomain(e.ctx, name); err == nil {
		return
	}
	_, err := e.s.AddDomain(e.ctx, name)
	e.must(err)
}

// account adds an account (and its domain).
func (e *env) account(addr string) store.Account {
	e.Helper()
	e.domain(addr[strings.LastIndexByte(addr, '@')+1:])
	a, err := e.s.AddAccount(e.ctx, store.NewAccount{Address: addr, PasswordHash: "$argon2id$x"})
	e.must(err)
	return a
}

func (e *env) mailbox(acc store.AccountID, name string) store.Mailbox {
	e.Helper()
	m, err := e.s.GetMailbox(e.ctx, acc, name)
	e.must(err)
	return m
}

func (e *env) create(acc store.AccountID, name string) store.Mailbox {
	e.Helper()
	m, err := e.s.CreateMailbox(e.ctx, acc, name, "")
	e.must(err)
	return m
}

// body is a test message of about n bytes, unique for id.
func body(id string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\n", id, id)
	for b.Len() < n {
		fmt.Fprintf(&b, "line %d of message %s\r\n", b.Len(), id)
	}
	return []byte(b.String())
}

// deliver delivers body to mailboxes, with no prefix and no flags.
func (e *env) deliver(b []byte, mailboxes ...store.MailboxID) []store.Delivered {
	e.Helper()
	d := store.Delivery{Body: b}
	for _, m := range mailboxes {
		d.Targets = append(d.Targets, store.Target{Mailbox: m})
	}
	out, err := e.s.Deliver(e.ctx, d)
	e.must(err)
	if len(out) != len(mailboxes) {
		e.Fatalf("Deliver returned %d results for %d targets", len(out), len(mailboxes))
	}
	return out
}

// fill delivers n messages to one mailbox and returns their UIDs.
func (e *env) fill(m store.MailboxID, n int) []store.UID {
	e.Helper()
	var uids []store.UID
	for i := range n {
		uids = append(uids, e.deliver(body(fmt.Sprintf("fill-%d-%d", m, i), 300), m)[0].UID)
	}
	return uids
}

func (e *env) status(m store.MailboxID) store.MailboxStatus {
	e.Helper()
	st, err := e.s.MailboxStatus(e.ctx, m)
	e.must(err)
	return st
}

func (e *env) list(m store.MailboxID) []store.MessageMeta {
	e.Helper()
	ms, err := e.s.ListMessages(e.ctx, m)
	e.must(err)
	return ms
}

func (e *env) uids(m store.MailboxID) []store.UID {
	e.Helper()
	var uids []store.UID
	for _, mm := range e.list(m) {
		uids = append(uids, mm.UID)
	}
	return uids
}

func (e *env) bodies() int64 {
	e.Helper()
	in, ok := e.s.(Inspector)
	if !ok {
		e.Fatalf("the store under test (%T) does not implement storetest.Inspector", e.s)
	}
	n, err := in.CountBodies(e.ctx)
	e.must(err)
	return n
}

// recv waits for one event.
func (e *env) recv(ch <-chan store.Event) store.Event {
	e.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			e.Fatal("feed channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		e.Fatal("no feed event within 5s")
	}
	panic("unreachable")
}
