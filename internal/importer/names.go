package importer

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// Maildir file names and folder names, as Dovecot and Courier write them
// (https://cr.yp.to/proto/maildir.html, Maildir++ by Courier, and
// Dovecot's maildir format documentation).

// maxKeywords bounds a dovecot-keywords file: Maildir file names can only
// refer to 26 keywords (letters a to z).
const maxKeywords = 26

// maildirInfo splits a Maildir file name into its unique part and its
// "2," flag letters. The separator is ':' on Unix; '!' or ';' where ':'
// cannot be in a file name (mbsync, Dovecot's maildir_info_separator).
func maildirInfo(name string) (unique, flags string) {
	for _, sep := range []string{":2,", "!2,", ";2,"} {
		if i := strings.LastIndex(name, sep); i >= 0 {
			return name[:i], name[i+len(sep):]
		}
	}
	return name, ""
}

// maildirFlags turns the flag letters of a Maildir file name into IMAP
// flags: the upper-case letters are the standard ones, the lower-case
// letters index the folder's dovecot-keywords file (a is keyword 0).
func maildirFlags(letters string, keywords []string) []string {
	var out []string
	for i := 0; i < len(letters); i++ {
		switch c := letters[i]; {
		case c == 'D':
			out = append(out, store.FlagDraft)
		case c == 'F':
			out = append(out, store.FlagFlagged)
		case c == 'P':
			out = append(out, "$Forwarded") // "passed" (RFC 5550 keyword)
		case c == 'R':
			out = append(out, store.FlagAnswered)
		case c == 'S':
			out = append(out, store.FlagSeen)
		case c == 'T':
			out = append(out, store.FlagDeleted)
		case c >= 'a' && c <= 'z':
			if k := int(c - 'a'); k < len(keywords) && keywords[k] != "" {
				out = append(out, keywords[k])
			}
		}
	}
	return cleanFlags(out)
}

// maildirLetters is maildirFlags backwards, for export: flag letters in
// ASCII order (as the Maildir specification asks) and the keywords
// table grown with the keywords it did not hold yet. Keywords past the
// 26 a Maildir can name are left out.
func maildirLetters(flags []string, keywords []string) (string, []string) {
	var b []byte
	for _, f := range flags {
		switch f {
		case store.FlagDraft:
			b = append(b, 'D')
		case store.FlagFlagged:
			b = append(b, 'F')
		case "$Forwarded":
			b = append(b, 'P')
		case store.FlagAnswered:
			b = append(b, 'R')
		case store.FlagSeen:
			b = append(b, 'S')
		case store.FlagDeleted:
			b = append(b, 'T')
		default:
			if strings.HasPrefix(f, `\`) {
				continue
			}
			k := slices.Index(keywords, f)
			if k < 0 && len(keywords) < maxKeywords {
				keywords = append(keywords, f)
				k = len(keywords) - 1
			}
			if k >= 0 {
				b = append(b, byte('a'+k))
			}
		}
	}
	slices.Sort(b)
	return string(slices.Compact(b)), keywords
}

// parseKeywords reads a dovecot-keywords file: lines "<index> <name>".
func parseKeywords(b []byte) []string {
	kw := make([]string, maxKeywords)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1024), 64<<10)
	for sc.Scan() {
		num, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= maxKeywords {
			continue
		}
		if f := cleanFlags([]string{strings.TrimSpace(name)}); len(f) == 1 && !strings.HasPrefix(f[0], `\`) {
			kw[i] = f[0]
		}
	}
	return kw
}

// formatKeywords writes a dovecot-keywords file.
func formatKeywords(kw []string) []byte {
	var b bytes.Buffer
	for i, k := range kw {
		if k != "" {
			b.WriteString(strconv.Itoa(i) + " " + k + "\n")
		}
	}
	return b.Bytes()
}

// cleanFlags keeps what can be stored and shown over IMAP: the system
// flags except \Recent (RFC 9051 drops it; it is never stored), in their
// canonical case, and keywords that are IMAP atoms (RFC 9051 §9,
// flag-keyword). Duplicates go; the order is sorted.
func cleanFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			for _, sys := range []string{store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft} {
				if strings.EqualFold(f, sys) {
					out = append(out, sys)
				}
			}
			continue
		}
		if isAtom(f) && len(f) <= 100 {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isAtom reports whether s is an IMAP atom: no atom-specials
// "(){ %*\"\\]", no controls, ASCII only (RFC 9051 §9).
func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// maildirPlusName turns a Maildir++ folder directory name (".Sent",
// ".Archive.2024", ".&AMk-t&AOk-") into a mailbox name ("Sent",
// "Archive/2024", "Été"): levels are separated by '.', each in modified
// UTF-7 as Dovecot and Courier write them (RFC 3501 §5.1.3). A level
// that is not valid modified UTF-7 is taken as written when it is UTF-8.
// ".INBOX.x" (Dovecot's name for a folder below INBOX) is "INBOX/x".
// ok is false for a name that cannot be a mailbox (an empty level).
func maildirPlusName(dir string) (string, bool) {
	if !strings.HasPrefix(dir, ".") || len(dir) < 2 {
		return "", false
	}
	levels := strings.Split(dir[1:], ".")
	for i, l := range levels {
		if l == "" {
			return "", false
		}
		levels[i] = sanitizeLevel(decodeLevel(l))
		if levels[i] == "" {
			return "", false
		}
	}
	return strings.Join(levels, "/"), true
}

// escapedDot is how maildirPlusDir writes a '.' inside a level: the
// modified UTF-7 form of '.', which strict decoders refuse (it is
// printable ASCII), so decodeLevel handles it before decoding the rest.
const escapedDot = "&AC4-"

// decodeLevel decodes one level of a Maildir++ name: modified UTF-7,
// with escapedDot for '.'; a level that does not decode is kept as
// written (it may be raw UTF-8).
func decodeLevel(l string) string {
	pieces := strings.Split(l, escapedDot)
	for i, p := range pieces {
		d, err := imapwire.DecodeUTF7(p)
		if err != nil {
			return l
		}
		pieces[i] = d
	}
	return strings.Join(pieces, ".")
}

// maildirPlusDir is maildirPlusName backwards, for export. A '.' inside
// a level cannot be written as itself (it separates levels), so it is
// written in modified UTF-7 base64 ("&AC4-"), which decodes back to '.'.
func maildirPlusDir(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = strings.ReplaceAll(imapwire.EncodeUTF7(l), ".", escapedDot)
	}
	return "." + strings.Join(levels, ".")
}

// sanitizeLevel makes one level of a foreign mailbox name storable: no
// control characters, no '/', which is our hierarchy delimiter.
func sanitizeLevel(l string) string {
	l = strings.Map(func(r rune) rune {
		switch {
		case r < ' ' || r == 0x7f:
			return -1
		case r == '/':
			return '_'
		}
		return r
	}, l)
	return strings.TrimSpace(l)
}

// parseSubscriptions reads Dovecot's "subscriptions" file (version 2:
// a "V\t2" line, a blank line, then one name per line with levels
// separated by tabs; version 1: one name per line with the hierarchy
// separator) or, with courier, Courier's "courierimapsubscribed"
// ("INBOX.Sent" lines: Courier names every folder below INBOX, which on
// disk is ".Sent", our "Sent").
func parseSubscriptions(b []byte, sep string, courier bool) []string {
	var out []string
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	v2 := len(lines) > 0 && strings.HasPrefix(lines[0], "V\t")
	for i, l := range lines {
		if l == "" || (v2 && i == 0) {
			continue
		}
		var levels []string
		if v2 {
			levels = strings.Split(l, "\t")
		} else {
			levels = strings.Split(l, sep)
		}
		if courier && len(levels) > 1 && strings.EqualFold(levels[0], "INBOX") {
			levels = levels[1:]
		}
		ok := true
		for k, lv := range levels {
			if d, err := imapwire.DecodeUTF7(lv); err == nil {
				lv = d
			}
			levels[k] = sanitizeLevel(lv)
			ok = ok && levels[k] != ""
		}
		if ok && len(levels) > 0 {
			out = append(out, strings.Join(levels, "/"))
		}
	}
	return out
}
