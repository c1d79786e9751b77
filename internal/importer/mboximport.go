package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/message"
)

// mboxFile is one mbox file and the mailbox it fills.
type mboxFile struct {
	name  string
	path  string
	size  int64
	mtime time.Time
}

// looksLikeMbox reports whether a file is an mbox: it starts with
// "From " (after blank lines), or is empty.
func looksLikeMbox(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := io.ReadFull(f, b)
	b = bytes.TrimLeft(b[:n], "\r\n")
	return n == 0 || bytes.HasPrefix(b, []byte("From "))
}

// findMboxes lists the mbox files under root as mailboxes: the relative
// path is the name, with Thunderbird's ".sbd" folder suffix and a
// ".mbox" extension dropped ("Lists.sbd/go" is "Lists/go"); Thunderbird's
// "Inbox" is INBOX. Files that are not mbox files (indexes such as
// .msf) are left out.
func findMboxes(root string) ([]mboxFile, error) {
	var out []mboxFile
	var walk func(dir, prefix string, depth int) error
	walk = func(dir, prefix string, depth int) error {
		if depth > maxFolderDepth {
			return nil
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			level := strings.TrimSuffix(strings.TrimSuffix(n, ".sbd"), ".mbox")
			if d, err := imapwire.DecodeUTF7(level); err == nil {
				level = d
			}
			if level = sanitizeLevel(level); level == "" {
				continue
			}
			name := level
			if prefix != "" {
				name = prefix + "/" + level
			}
			p := filepath.Join(dir, n)
			switch {
			case e.IsDir():
				if err := walk(p, name, depth+1); err != nil {
					return err
				}
			case e.Type().IsRegular() && looksLikeMbox(p):
				if len(out) >= maxFolders {
					return fmt.Errorf("more than %d folders", maxFolders)
				}
				// Apple Mail: Foo.mbox/mbox is folder Foo.
				if n == "mbox" && strings.HasSuffix(dir, ".mbox") && prefix != "" {
					name = prefix
				}
				info, err := e.Info()
				if err != nil {
					continue
				}
				out = append(out, mboxFile{name: name, path: p, size: info.Size(), mtime: info.ModTime()})
			}
		}
		return nil
	}
	if err := walk(root, "", 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no mbox file", root)
	}
	return out, nil
}

// Mbox imports an mbox file into the mailbox folder (INBOX when empty),
// or every mbox file under a folder into mailboxes named after them.
func (im *Importer) Mbox(ctx context.Context, address, path, folder string) (Result, error) {
	s, err := im.newSession(ctx, address)
	if err != nil {
		return Result{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Result{}, err
	}
	var files []mboxFile
	if fi.IsDir() {
		if folder != "" {
			return Result{}, errors.New("a folder of mbox files names its mailboxes itself; give a single file to import into one mailbox")
		}
		if files, err = findMboxes(path); err != nil {
			return Result{}, err
		}
	} else {
		if folder == "" {
			folder = "INBOX"
		}
		files = []mboxFile{{name: folder, path: path, size: fi.Size(), mtime: fi.ModTime()}}
	}
	s.res.Folders = len(files)
	for _, f := range files {
		im.o.Progress.AddTotal(0, f.size)
	}
	for _, f := range files {
		if err := s.mboxFile(ctx, f); err != nil {
			return s.res, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return s.res, nil
}

func (s *session) mboxFile(ctx context.Context, f mboxFile) error {
	s.im.o.Progress.Folder(f.name)
	t, err := s.mailbox(ctx, f.name, specialByName(f.name))
	if err != nil {
		return err
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := newMboxReader(fh, s.im.o.MaxMessageBytes)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errNotMbox) {
			return err
		}
		if err != nil {
			return err
		}
		if m.tooLarge {
			s.tooLarge(t, m.size)
			continue
		}
		data, flags, expunged := mboxFlags(m.data)
		if expunged {
			s.im.o.Progress.Done(1, m.size)
			continue
		}
		// The internal date: the separator's date, else the Date header,
		// else the file's time; never "now", which would differ on the
		// next run and defeat the duplicate check.
		date := mboxDate(m.fromLine)
		if date.IsZero() {
			v, _ := message.Get(headerOf(data), "Date")
			date, _ = message.ParseDate(v)
		}
		if date.IsZero() {
			date = f.mtime
		}
		if err := s.add(ctx, t, data, flags, date, m.size); err != nil {
			return err
		}
	}
}
