package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mailhouse/internal/store"
)

// Export writes every mailbox of an account into a new Maildir++ tree at
// root, as Dovecot lays one out: INBOX in root itself, other mailboxes
// in ".Name.Sub" folders (modified UTF-7), flags in the file names,
// keywords in dovecot-keywords, UIDs in dovecot-uidlist (Dovecot keeps
// them, so clients need not download everything again), subscriptions
// in "subscriptions", and the internal date as each file's time.
// Messages are written with LF line endings, as Maildir keeps them.
func (im *Importer) Export(ctx context.Context, address, root string) (Result, error) {
	a, err := im.account(ctx, address)
	if err != nil {
		return Result{}, err
	}
	if err := emptyDir(root); err != nil {
		return Result{}, err
	}
	mbs, err := im.o.Store.ListMailboxes(ctx, a.ID)
	if err != nil {
		return Result{}, err
	}
	var res Result
	res.Folders = len(mbs)
	for _, mb := range mbs {
		st, err := im.o.Store.MailboxStatus(ctx, mb.ID)
		if err != nil {
			return res, err
		}
		im.o.Progress.AddTotal(st.Messages, st.Size)
	}
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`, ".", "_").Replace(host)
	if host == "" {
		host = "mailhouse"
	}
	w := &maildirWriter{host: host, pid: os.Getpid()}
	var subscribed []string
	for _, mb := range mbs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		im.o.Progress.Folder(mb.Name)
		dir := root
		if mb.Name != "INBOX" {
			dir = filepath.Join(root, maildirPlusDir(mb.Name))
		}
		n, bytes, err := w.exportMailbox(ctx, im, mb, dir)
		res.Imported += n
		res.Bytes += bytes
		if err != nil {
			return res, fmt.Errorf("mailbox %s: %w", mb.Name, err)
		}
		if mb.Subscribed {
			subscribed = append(subscribed, strings.ReplaceAll(mb.Name, "/", "\t"))
		}
	}
	// Dovecot's subscriptions file, version 2: levels separated by tabs.
	sub := "V\t2\n\n" + strings.Join(subscribed, "\n")
	if len(subscribed) > 0 {
		sub += "\n"
	}
	if err := os.WriteFile(filepath.Join(root, "subscriptions"), []byte(sub), 0o600); err != nil {
		return res, err
	}
	return res, nil
}

// emptyDir creates dir, or accepts it when it exists and is empty.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("%s is not empty; export into a new folder", dir)
	}
	return nil
}

// maildirWriter names message files uniquely (the Maildir "unique"
// part: time, M microseconds, P process, Q sequence, host).
type maildirWriter struct {
	host string
	pid  int
	seq  int
}

func (w *maildirWriter) exportMailbox(ctx context.Context, im *Importer, mb store.Mailbox, dir string) (int, int64, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return 0, 0, err
		}
	}
	msgs, err := im.o.Store.ListMessages(ctx, mb.ID)
	if err != nil {
		return 0, 0, err
	}
	var keywords []string
	var uidlist bytes.Buffer
	fmt.Fprintf(&uidlist, "3 V%d N%d\n", mb.UIDValidity, mb.UIDNext)
	n, total := 0, int64(0)
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return n, total, err
		}
		data, err := im.o.Store.ReadMessage(ctx, mb.ID, m.UID)
		if err != nil {
			return n, total, err
		}
		lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		var letters string
		letters, keywords = maildirLetters(m.Flags, keywords)
		w.seq++
		d := m.InternalDate
		base := fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d,W=%d", d.Unix(), d.Nanosecond()/1000, w.pid, w.seq, w.host, len(lf), len(data))
		tmp := filepath.Join(dir, "tmp", base)
		if err := os.WriteFile(tmp, lf, 0o600); err != nil {
			return n, total, err
		}
		if err := os.Chtimes(tmp, d, d); err != nil {
			return n, total, err
		}
		if err := os.Rename(tmp, filepath.Join(dir, "cur", base+":2,"+letters)); err != nil {
			return n, total, err
		}
		fmt.Fprintf(&uidlist, "%d :%s\n", m.UID, base)
		n++
		total += int64(len(data))
		im.o.Progress.Done(1, m.Size)
	}
	if len(keywords) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), formatKeywords(keywords), 0o600); err != nil {
			return n, total, err
		}
	}
	return n, total, os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), uidlist.Bytes(), 0o600)
}
