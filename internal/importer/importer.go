// Package importer brings an account's mail into mailhouse from another
// server, and takes it out again: it imports a Maildir (Dovecot and
// Courier Maildir++ naming, the "fs" layout, dovecot-keywords files,
// subscriptions), an mbox file or folder of them (mboxrd/mboxo, Status,
// X-Status, X-Keywords and Mozilla status headers), or every folder of
// an account on another IMAP server; and it exports an account to a
// Maildir++ folder, so that nobody is locked in.
//
// Folders, flags, keywords and internal dates are kept. Every message
// goes through delivery.Deliverer.Append (the one way mail enters the
// store). An import is idempotent and so resumable: before a folder is
// filled, the messages already in the target mailbox are indexed by
// Message-ID and internal date (by size and internal date when there is
// no Message-ID), with their multiplicity, and a source message that
// matches is skipped. Running an interrupted import again therefore
// picks up where it stopped and never duplicates.
//
// It does not import Sieve scripts, contacts or calendars, and it does
// not delete anything at the source.
package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mailhouse/internal/delivery"
	"mailhouse/internal/directory"
	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// DefaultMaxMessageBytes bounds one imported message; larger ones are
// skipped and reported. It is generous because old mailboxes hold large
// attachments that SMTP limits never saw.
const DefaultMaxMessageBytes = 256 << 20

// Options configure an Importer.
type Options struct {
	Store     store.Store
	Deliverer *delivery.Deliverer
	// Progress receives counts as messages are imported; nil shows none.
	Progress *Progress
	Logger   *slog.Logger
	// MaxMessageBytes bounds one message; 0 means DefaultMaxMessageBytes.
	MaxMessageBytes int64
}

// Importer imports into and exports from one store.
type Importer struct {
	o   Options
	log *slog.Logger
}

// New returns an Importer.
func New(o Options) *Importer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return &Importer{o: o, log: o.Logger}
}

// Result counts what an import or export did.
type Result struct {
	Folders  int   // folders seen at the source
	Imported int   // messages added (exported, for Export)
	Skipped  int   // already there from an earlier run
	Failed   int   // unreadable or refused (see the log)
	TooLarge int   // over MaxMessageBytes
	Bytes    int64 // bytes added
}

func (r Result) String() string {
	s := fmt.Sprintf("%d folders, %d messages imported (%s), %d already there", r.Folders, r.Imported, humanBytes(r.Bytes), r.Skipped)
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d failed", r.Failed)
	}
	if r.TooLarge > 0 {
		s += fmt.Sprintf(", %d too large", r.TooLarge)
	}
	return s
}

// account finds the target account.
func (im *Importer) account(ctx context.Context, address string) (store.Account, error) {
	addr, err := directory.Normalize(address)
	if err != nil {
		return store.Account{}, fmt.Errorf("%s: %w", address, err)
	}
	a, err := im.o.Store.GetAccount(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("no account %s (add it first: mailhouse user add)", addr)
	}
	return a, err
}

// target is one mailbox being filled, with the index of what it holds.
type target struct {
	mb    store.Mailbox
	index *dedupIndex
}

// session is one import run into one account.
type session struct {
	im      *Importer
	acct    store.Account
	targets map[string]*target // by mailbox name as given
	res     Result
}

func (im *Importer) newSession(ctx context.Context, address string) (*session, error) {
	a, err := im.account(ctx, address)
	if err != nil {
		return nil, err
	}
	return &session{im: im, acct: a, targets: map[string]*target{}}, nil
}

// mailbox returns the target mailbox called name, creating it (with
// specialUse, when no other mailbox of the account has that use) and
// indexing its messages on first use.
func (s *session) mailbox(ctx context.Context, name, specialUse string) (*target, error) {
	if t, ok := s.targets[name]; ok {
		return t, nil
	}
	st := s.im.o.Store
	mb, err := st.GetMailbox(ctx, s.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		if specialUse != "" {
			all, err := st.ListMailboxes(ctx, s.acct.ID)
			if err != nil {
				return nil, err
			}
			for _, m := range all {
				if m.SpecialUse == specialUse {
					specialUse = ""
				}
			}
		}
		mb, err = st.CreateMailbox(ctx, s.acct.ID, name, specialUse)
		if errors.Is(err, store.ErrExists) { // created meanwhile
			mb, err = st.GetMailbox(ctx, s.acct.ID, name)
		}
		if err == nil {
			s.im.log.Info("import: created mailbox", "account", s.acct.Address, "mailbox", mb.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", name, err)
	}
	t := &target{mb: mb}
	if t.index, err = s.im.indexMailbox(ctx, mb.ID); err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", name, err)
	}
	s.targets[name] = t
	return t, nil
}

// indexMailbox indexes a mailbox's messages for the duplicate check.
func (im *Importer) indexMailbox(ctx context.Context, id store.MailboxID) (*dedupIndex, error) {
	msgs, err := im.o.Store.ListMessages(ctx, id)
	if err != nil {
		return nil, err
	}
	index := newDedupIndex(len(msgs))
	for _, m := range msgs {
		var msgID string
		if p, err := im.o.Store.ReadParsed(ctx, id, m.UID); err == nil && len(p) > 0 {
			if s, err := message.Unmarshal(p); err == nil {
				msgID = s.Envelope.MessageID
			}
		} else {
			// No stored structure: read the header itself.
			b, err := im.o.Store.ReadMessage(ctx, id, m.UID)
			if err != nil {
				return nil, err
			}
			msgID = messageID(b[m.PrefixLen:])
		}
		index.add(msgID, m.InternalDate, m.Size-int64(m.PrefixLen))
	}
	return index, nil
}

// messageID is the Message-ID of a message's top-level header.
func messageID(msg []byte) string {
	v, _ := message.Get(headerOf(msg), "Message-ID")
	return v
}

// headerOf returns the header block of a message (up to and including
// the blank line), bounded so that a message without one is not
// scanned to its end.
func headerOf(msg []byte) []byte {
	const maxHeader = 1 << 20
	if len(msg) > maxHeader {
		msg = msg[:maxHeader]
	}
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] != '\n' {
			continue
		}
		switch {
		case msg[i+1] == '\n':
			return msg[:i+2]
		case msg[i+1] == '\r' && i+2 < len(msg) && msg[i+2] == '\n':
			return msg[:i+3]
		}
	}
	return msg
}

// add imports one message into t unless it is there already. data may
// have any line endings; it is stored with CRLF. srcSize is its size at
// the source for the progress shown (0: its length).
func (s *session) add(ctx context.Context, t *target, data []byte, flags []string, date time.Time, srcSize int64) error {
	if srcSize <= 0 {
		srcSize = int64(len(data))
	}
	if int64(len(data)) > s.im.o.MaxMessageBytes {
		s.tooLarge(t, srcSize)
		return nil
	}
	data = message.ToCRLF(data)
	if t.index.seen(messageID(data), date, int64(len(data))) {
		s.res.Skipped++
		s.im.o.Progress.Done(1, srcSize)
		return nil
	}
	return s.store(ctx, t, data, flags, date, srcSize)
}

func (s *session) tooLarge(t *target, size int64) {
	s.res.TooLarge++
	s.im.log.Warn("import: message too large, skipped", "mailbox", t.mb.Name, "bytes", size, "limit", s.im.o.MaxMessageBytes)
	s.im.o.Progress.Done(1, size)
}

// store appends a message that is known to be new; srcSize is its size
// at the source, for the progress shown.
func (s *session) store(ctx context.Context, t *target, data []byte, flags []string, date time.Time, srcSize int64) error {
	data = message.ToCRLF(data)
	defer s.im.o.Progress.Done(1, srcSize)
	if _, err := s.im.o.Deliverer.Append(ctx, t.mb.ID, cleanFlags(flags), date, data); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.res.Failed++
		s.im.log.Error("import: storing a message failed", "mailbox", t.mb.Name, "err", err)
		return nil
	}
	s.res.Imported++
	s.res.Bytes += int64(len(data))
	return nil
}

// subscribe marks the imported folders that were subscribed at the
// source.
func (s *session) subscribe(ctx context.Context, names []string) {
	for _, n := range names {
		if _, ok := s.targets[n]; !ok {
			continue
		}
		if err := s.im.o.Store.SetSubscribed(ctx, s.acct.ID, n, true); err != nil {
			s.im.log.Warn("import: subscribing", "mailbox", n, "err", err)
		}
	}
}

// humanBytes writes a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
