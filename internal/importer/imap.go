package importer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/store"
)

// IMAP import: every folder of an account on another server, copied
// with its flags and internal dates. The source is only read (EXAMINE,
// BODY.PEEK), so nothing changes there, not even \Seen.

// Bounds of the IMAP import.
const (
	// DefaultIMAPTimeout bounds each network step (a read or a write
	// that makes no progress).
	DefaultIMAPTimeout = 2 * time.Minute
	// fetchBatch is how many message bodies one FETCH asks for, and
	// fetchBatchBytes about how many bytes.
	fetchBatch      = 100
	fetchBatchBytes = 32 << 20
)

// IMAPSource names an account on another IMAP server.
type IMAPSource struct {
	// Addr is host:port.
	Addr string
	// ImplicitTLS: TLS from the start (imaps://, port 993); otherwise
	// STARTTLS is required (imap://, port 143). Plaintext is never used.
	ImplicitTLS bool
	// TLS verifies the server; nil uses the system roots and the host of
	// Addr as server name.
	TLS      *tls.Config
	Username string
	Password string
	// Folders limits the import to these source folders, named as the
	// server lists them; empty imports every folder.
	Folders []string
	// Timeout bounds each network step; 0 means DefaultIMAPTimeout.
	Timeout time.Duration
}

// ParseIMAPURL reads imaps://user@host[:port] or imap://user@host[:port]
// (STARTTLS). The user name may be an email address
// (imaps://alice@old.example@mail.old.example).
func ParseIMAPURL(s string) (IMAPSource, error) {
	u, err := url.Parse(s)
	if err != nil {
		return IMAPSource{}, err
	}
	var src IMAPSource
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		src.ImplicitTLS, port = true, "993"
	case "imap":
		port = "143"
	default:
		return src, fmt.Errorf("%q: the source must be imaps://user@host or imap://user@host (STARTTLS)", s)
	}
	if u.Hostname() == "" {
		return src, fmt.Errorf("%q: no host", s)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	src.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		src.Username = u.User.Username()
		src.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return src, fmt.Errorf("%q: give folders with --folder, not in the URL", s)
	}
	return src, nil
}

// deadlineConn gives every read and write a deadline, so that a server
// that stops answering ends the import instead of hanging it.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	// A write starts a command: it also extends the deadline of the
	// read already waiting for its answer.
	_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(b)
}

// dialIMAP connects and logs in.
func dialIMAP(ctx context.Context, src IMAPSource) (*imapclient.Client, error) {
	timeout := src.Timeout
	if timeout <= 0 {
		timeout = DefaultIMAPTimeout
	}
	host, _, err := net.SplitHostPort(src.Addr)
	if err != nil {
		return nil, err
	}
	cfg := src.TLS
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	d := net.Dialer{Timeout: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", src.Addr)
	if err != nil {
		return nil, err
	}
	conn := net.Conn(&deadlineConn{Conn: raw, timeout: timeout})
	var c *imapclient.Client
	if src.ImplicitTLS {
		tc := tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS with %s: %w", src.Addr, err)
		}
		c = imapclient.New(tc, nil)
	} else {
		c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			return nil, fmt.Errorf("STARTTLS with %s: %w", src.Addr, err)
		}
	}
	// Cancelling ctx closes the connection, which ends any command.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	go func() { <-c.Closed(); stop() }()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", src.Addr, err)
	}
	if err := c.Login(src.Username, src.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login to %s as %s: %w", src.Addr, src.Username, err)
	}
	return c, nil
}

// imapFolder is a source folder and what to copy from it.
type imapFolder struct {
	source  string // name at the source
	target  *target
	uidv    uint32
	todo    []imapMessage
	matched int
}

// imapMessage is one message to copy.
type imapMessage struct {
	uid   imap.UID
	flags []string
	date  time.Time
	size  int64
}

// specialUses maps IMAP's special-use attributes (RFC 6154) to ours.
var specialUses = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent: store.SpecialSent, imap.MailboxAttrDrafts: store.SpecialDrafts,
	imap.MailboxAttrTrash: store.SpecialTrash, imap.MailboxAttrJunk: store.SpecialJunk,
	imap.MailboxAttrArchive: store.SpecialArchive,
}

// IMAP copies every folder (or src.Folders) of an account on another
// IMAP server. A source folder with a special use (RFC 6154) goes into
// the account's mailbox with the same use ("Sent Items" into Sent);
// other folders keep their names, hierarchy delimiter turned into "/".
// It first lists what every folder holds (UID, flags, date, size,
// Message-ID), leaves out what an earlier run imported, then fetches
// the rest.
func (im *Importer) IMAP(ctx context.Context, address string, src IMAPSource) (Result, error) {
	s, err := im.newSession(ctx, address)
	if err != nil {
		return Result{}, err
	}
	c, err := dialIMAP(ctx, src)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	folders, err := s.planIMAP(ctx, c, src)
	if err != nil {
		return s.res, ctxErr(ctx, err)
	}
	for _, f := range folders {
		if err := s.copyIMAP(ctx, c, f); err != nil {
			return s.res, ctxErr(ctx, fmt.Errorf("folder %s: %w", f.source, err))
		}
	}
	if err := c.Logout().Wait(); err != nil {
		im.log.Debug("import: logout", "err", err)
	}
	return s.res, nil
}

// ctxErr prefers the context's error: a cancelled import reports that,
// not the closed connection it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// planIMAP lists the source folders and decides what to copy.
func (s *session) planIMAP(ctx context.Context, c *imapclient.Client, src IMAPSource) ([]*imapFolder, error) {
	var opts *imap.ListOptions
	if c.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	want := map[string]bool{}
	for _, f := range src.Folders {
		want[f] = true
	}
	local, err := s.im.o.Store.ListMailboxes(ctx, s.acct.ID)
	if err != nil {
		return nil, err
	}
	var out []*imapFolder
	for _, l := range list {
		if len(want) > 0 && !want[l.Mailbox] {
			continue
		}
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name, ok := imapTargetName(l.Mailbox, l.Delim)
		if !ok {
			s.im.log.Warn("import: folder name not usable, skipped", "folder", l.Mailbox)
			continue
		}
		use := ""
		for a, u := range specialUses {
			if hasAttr(l.Attrs, a) {
				use = u
			}
		}
		if use != "" && !strings.EqualFold(name, "INBOX") {
			for _, m := range local {
				if m.SpecialUse == use {
					name = m.Name
				}
			}
		} else if use == "" {
			use = specialByName(name)
		}
		s.res.Folders++
		s.im.o.Progress.Folder("listing " + l.Mailbox)
		f, err := s.planFolder(ctx, c, l.Mailbox, name, use)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", l.Mailbox, err)
		}
		out = append(out, f)
	}
	var n int
	var bytes int64
	for _, f := range out {
		n += len(f.todo)
		for _, m := range f.todo {
			bytes += m.size
		}
	}
	s.im.o.Progress.AddTotal(n, bytes)
	return out, nil
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// imapTargetName maps a source folder name to ours: levels split at the
// server's delimiter, joined with "/".
func imapTargetName(name string, delim rune) (string, bool) {
	levels := []string{name}
	if delim != 0 {
		levels = strings.Split(name, string(delim))
	}
	for i, l := range levels {
		if levels[i] = sanitizeLevel(l); levels[i] == "" {
			return "", false
		}
	}
	return strings.Join(levels, "/"), true
}

// planFolder reads a source folder's message list and keeps what the
// target lacks.
func (s *session) planFolder(ctx context.Context, c *imapclient.Client, source, name, use string) (*imapFolder, error) {
	sel, err := c.Select(source, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("EXAMINE: %w", err)
	}
	t, err := s.mailbox(ctx, name, use)
	if err != nil {
		return nil, err
	}
	f := &imapFolder{source: source, target: t, uidv: sel.UIDValidity}
	if sel.NumMessages == 0 {
		return f, nil
	}
	cmd := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}},
	})
	msgs, err := cmd.Collect()
	if err != nil {
		return nil, fmt.Errorf("FETCH: %w", err)
	}
	for _, m := range msgs {
		var hdr []byte
		for _, b := range m.BodySection {
			hdr = b.Bytes
		}
		if s.importedBefore(t, messageID(hdr), m.InternalDate, m.RFC822Size) {
			f.matched++
			continue
		}
		flags := make([]string, 0, len(m.Flags))
		for _, fl := range m.Flags {
			flags = append(flags, string(fl))
		}
		f.todo = append(f.todo, imapMessage{uid: m.UID, flags: flags, date: m.InternalDate, size: m.RFC822Size})
	}
	return f, nil
}

// importedBefore is the duplicate check, counted as skipped.
func (s *session) importedBefore(t *target, msgID string, date time.Time, size int64) bool {
	if t.index.seen(msgID, date, size) {
		s.res.Skipped++
		return true
	}
	return false
}

// copyIMAP fetches and stores a folder's planned messages, in batches.
func (s *session) copyIMAP(ctx context.Context, c *imapclient.Client, f *imapFolder) error {
	s.im.o.Progress.Folder(f.target.mb.Name)
	if len(f.todo) == 0 {
		return nil
	}
	sel, err := c.Select(f.source, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("EXAMINE: %w", err)
	}
	if sel.UIDValidity != f.uidv {
		return fmt.Errorf("UIDVALIDITY changed during the import; run it again")
	}
	byUID := make(map[imap.UID]imapMessage, len(f.todo))
	var batch []imap.UID
	var batchBytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.fetchBatch(ctx, c, f, batch, byUID)
		batch, batchBytes = batch[:0], 0
		return err
	}
	for _, m := range f.todo {
		if m.size > s.im.o.MaxMessageBytes {
			s.tooLarge(f.target, m.size)
			continue
		}
		byUID[m.uid] = m
		batch = append(batch, m.uid)
		batchBytes += m.size
		if len(batch) >= fetchBatch || batchBytes >= fetchBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (s *session) fetchBatch(ctx context.Context, c *imapclient.Client, f *imapFolder, uids []imap.UID, byUID map[imap.UID]imapMessage) error {
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	got := 0
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var body []byte
		var readErr error
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					body, readErr = io.ReadAll(io.LimitReader(it.Literal, s.im.o.MaxMessageBytes+1))
				}
			}
		}
		m, ok := byUID[uid]
		if !ok {
			continue // not asked for (a server may add unsolicited FETCH data)
		}
		delete(byUID, uid)
		got++
		switch {
		case readErr != nil:
			cmd.Close()
			return readErr
		case int64(len(body)) > s.im.o.MaxMessageBytes:
			s.tooLarge(f.target, int64(len(body)))
			continue
		}
		if err := s.store(ctx, f.target, body, m.flags, m.date, m.size); err != nil {
			cmd.Close()
			return err
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("FETCH: %w", err)
	}
	if got < len(uids) {
		// Expunged at the source meanwhile: nothing to copy.
		s.im.log.Info("import: messages gone from the source during the import", "folder", f.source, "missing", len(uids)-got)
		s.im.o.Progress.Done(len(uids)-got, 0)
	}
	return nil
}
