package sqlcore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"mailhouse/internal/store"
)

// inbox is the stored spelling of the one mailbox name compared
// case-insensitively (RFC 9051 §5.1).
const inbox = "INBOX"

// normMailboxName returns the stored form of a mailbox name: "INBOX" in
// any case becomes INBOX, and so does the first level of a name below it
// ("inbox/x" is "INBOX/x"), so that INBOX and its children share one
// spelling. Other names are case-sensitive and kept as given. It refuses
// names that are empty, not UTF-8, hold control characters, or have an
// empty hierarchy level ("a//b", "/a", "a/": the caller strips a trailing
// delimiter, RFC 9051 §6.3.4).
func normMailboxName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("mailbox name is empty: %w", store.ErrNotAllowed)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("mailbox %q: name is not UTF-8: %w", name, store.ErrNotAllowed)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("mailbox %q: name holds a control character: %w", name, store.ErrNotAllowed)
		}
	}
	for level := range strings.SplitSeq(name, "/") {
		if level == "" {
			return "", fmt.Errorf("mailbox %q: empty hierarchy level: %w", name, store.ErrNotAllowed)
		}
	}
	if strings.EqualFold(name, inbox) {
		return inbox, nil
	}
	if len(name) > len(inbox) && name[len(inbox)] == '/' && strings.EqualFold(name[:len(inbox)], inbox) {
		return inbox + name[len(inbox):], nil
	}
	return name, nil
}

// lookupMailboxName is normMailboxName for finding an existing mailbox:
// a name that could not have been created is simply not found.
func lookupMailboxName(name string) (string, error) {
	n, err := normMailboxName(name)
	if err != nil {
		return "", fmt.Errorf("mailbox %q: %w (not a valid name)", name, store.ErrNotFound)
	}
	return n, nil
}

// checkSpecialUse accepts "" or one RFC 6154 attribute.
func checkSpecialUse(name, use string) error {
	switch use {
	case "", store.SpecialAll, store.SpecialArchive, store.SpecialDrafts, store.SpecialFlagged,
		store.SpecialJunk, store.SpecialSent, store.SpecialTrash:
		return nil
	}
	return fmt.Errorf("mailbox %s: special-use %q is not an RFC 6154 attribute: %w", name, use, store.ErrNotAllowed)
}
