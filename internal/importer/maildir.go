package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// Bounds on what a Maildir scan walks.
const (
	maxFolderDepth = 32
	maxFolders     = 10000
)

// maildirFolder is one folder found in a Maildir tree.
type maildirFolder struct {
	name string // mailbox name, "/"-separated
	dir  string // the folder holding cur/ and new/
}

// maildirFile is one message file.
type maildirFile struct {
	path  string
	size  int64
	date  time.Time // modification time: Dovecot's received date
	flags string    // the letters after ":2,"
	uid   int64     // from dovecot-uidlist; 0 when unknown
	base  string    // the unique part of the name
}

// isMaildir reports whether dir holds cur/ or new/.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// findMaildirs lists the folders of a Maildir tree: the root itself
// (INBOX), Maildir++ folders (".Name.Sub" directly under the root) and
// "fs" layout folders (nested directories, as Dovecot's LAYOUT=fs and
// mbsync's SubFolders Verbatim write them).
func findMaildirs(root string) ([]maildirFolder, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", root)
	}
	var out []maildirFolder
	if isMaildir(root) {
		out = append(out, maildirFolder{name: "INBOX", dir: root})
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if name, ok := maildirPlusName(e.Name()); ok && isMaildir(dir) {
			out = append(out, maildirFolder{name: name, dir: dir})
		}
	}
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
			if !e.IsDir() || strings.HasPrefix(n, ".") || n == "cur" || n == "new" || n == "tmp" || n == "courierimapkeywords" {
				continue
			}
			if len(out) >= maxFolders {
				return fmt.Errorf("more than %d folders", maxFolders)
			}
			level := n
			if d, err := imapwire.DecodeUTF7(n); err == nil {
				level = d
			}
			if level = sanitizeLevel(level); level == "" {
				continue
			}
			name := level
			if prefix != "" {
				name = prefix + "/" + level
			}
			sub := filepath.Join(dir, n)
			if isMaildir(sub) {
				out = append(out, maildirFolder{name: name, dir: sub})
			}
			if err := walk(sub, name, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, "", 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no Maildir (no cur/ or new/ folder, and no Maildir++ .Folder)", root)
	}
	return out, nil
}

// listMaildir lists a folder's messages in their original order: by
// dovecot-uidlist UID when the file is there, else by name (the unique
// part starts with the delivery time).
func listMaildir(dir string) ([]maildirFile, error) {
	uids := readUIDList(filepath.Join(dir, "dovecot-uidlist"))
	var files []maildirFile
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // gone meanwhile (an active Maildir)
			}
			base, letters := maildirInfo(e.Name())
			if sub == "new" {
				letters = "" // new/ messages have no flags yet
			}
			files = append(files, maildirFile{
				path: filepath.Join(dir, sub, e.Name()), size: info.Size(), date: info.ModTime(),
				flags: letters, uid: uids[base], base: base,
			})
		}
	}
	slices.SortFunc(files, func(a, b maildirFile) int {
		switch {
		case a.uid != 0 && b.uid != 0:
			return int(a.uid - b.uid)
		case a.uid != 0:
			return -1
		case b.uid != 0:
			return 1
		}
		return strings.Compare(a.base, b.base)
	})
	return files, nil
}

// readUIDList reads Dovecot's dovecot-uidlist: a header line, then
// "<uid> [<extensions>] :<file name>" (version 3) or "<uid> <file name>"
// (version 1) per message. A missing or unreadable file gives none.
func readUIDList(path string) map[string]int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return parseUIDList(b)
}

func parseUIDList(b []byte) map[string]int64 {
	m := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			continue
		}
		num, rest, ok := strings.Cut(line, " ")
		uid, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || uid <= 0 {
			continue
		}
		name := rest
		if i := strings.Index(rest, ":"); i >= 0 && (i == 0 || rest[i-1] == ' ') {
			name = rest[i+1:]
		} else if f := strings.Fields(rest); len(f) > 0 {
			name = f[len(f)-1]
		}
		base, _ := maildirInfo(name)
		m[base] = uid
	}
	return m
}

// specialByName guesses the special use of a mailbox created by an
// import from its name, as Dovecot's default configuration names them.
func specialByName(name string) string {
	switch strings.ToLower(name) {
	case "sent", "sent messages", "sent items", "sent mail":
		return store.SpecialSent
	case "drafts":
		return store.SpecialDrafts
	case "trash", "deleted messages", "deleted items":
		return store.SpecialTrash
	case "junk", "spam", "junk e-mail":
		return store.SpecialJunk
	case "archive", "archives":
		return store.SpecialArchive
	}
	return ""
}

// Maildir imports a Maildir tree into an account's mailboxes of the
// same names.
func (im *Importer) Maildir(ctx context.Context, address, root string) (Result, error) {
	s, err := im.newSession(ctx, address)
	if err != nil {
		return Result{}, err
	}
	folders, err := findMaildirs(root)
	if err != nil {
		return Result{}, err
	}
	s.res.Folders = len(folders)
	type listed struct {
		f     maildirFolder
		files []maildirFile
	}
	var all []listed
	for _, f := range folders {
		files, err := listMaildir(f.dir)
		if err != nil {
			return s.res, fmt.Errorf("%s: %w", f.dir, err)
		}
		var n int64
		for _, mf := range files {
			n += mf.size
		}
		im.o.Progress.AddTotal(len(files), n)
		all = append(all, listed{f, files})
	}
	for _, l := range all {
		if err := s.maildirFolder(ctx, l.f, l.files); err != nil {
			return s.res, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "subscriptions")); err == nil {
		s.subscribe(ctx, parseSubscriptions(b, ".", false))
	}
	if b, err := os.ReadFile(filepath.Join(root, "courierimapsubscribed")); err == nil {
		s.subscribe(ctx, parseSubscriptions(b, ".", true))
	}
	return s.res, nil
}

func (s *session) maildirFolder(ctx context.Context, f maildirFolder, files []maildirFile) error {
	s.im.o.Progress.Folder(f.name)
	t, err := s.mailbox(ctx, f.name, specialByName(f.name))
	if err != nil {
		return err
	}
	var keywords []string
	if b, err := os.ReadFile(filepath.Join(f.dir, "dovecot-keywords")); err == nil {
		keywords = parseKeywords(b)
	}
	for _, mf := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if mf.size > s.im.o.MaxMessageBytes {
			s.tooLarge(t, mf.size)
			continue
		}
		data, err := os.ReadFile(mf.path)
		if err != nil {
			s.res.Failed++
			s.im.log.Error("import: reading a message", "file", mf.path, "err", err)
			s.im.o.Progress.Done(1, mf.size)
			continue
		}
		if err := s.add(ctx, t, data, maildirFlags(mf.flags, keywords), mf.date, mf.size); err != nil {
			return err
		}
	}
	return nil
}
