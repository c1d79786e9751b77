package sqlcore

import (
	"fmt"
	"slices"
	"strings"

	"mailhouse/internal/store"
)

// systemFlag returns the canonical spelling of a storable system flag.
// RFC 9051 §2.3.2: flag names are case-insensitive; \Recent is gone
// from IMAP4rev2 and is never stored.
func systemFlag(f string) (string, bool) {
	for _, c := range [...]string{store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft} {
		if strings.EqualFold(f, c) {
			return c, true
		}
	}
	return "", false
}

// normFlags returns flags sorted, without duplicates, system flags in
// their canonical case and keywords as given. It refuses what cannot be
// stored: an empty flag, a space or control character (the stored form
// joins flags with spaces), or an unknown system flag.
func normFlags(flags []string) ([]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" {
			return nil, fmt.Errorf("flag %q: empty: %w", f, store.ErrNotAllowed)
		}
		if strings.HasPrefix(f, `\`) {
			c, ok := systemFlag(f)
			if !ok {
				return nil, fmt.Errorf("flag %q: not a storable system flag: %w", f, store.ErrNotAllowed)
			}
			f = c
		}
		for _, r := range f {
			if r <= ' ' || r == 0x7f {
				return nil, fmt.Errorf("flag %q: contains a space or control character: %w", f, store.ErrNotAllowed)
			}
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// joinFlags is the stored form of normalised flags.
func joinFlags(flags []string) string { return strings.Join(flags, " ") }

// splitFlags reads the stored form back.
func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// applyFlags combines a message's flags with an update; both are
// normalised and so is the result.
func applyFlags(cur []string, op store.FlagOp, flags []string) []string {
	switch op {
	case store.FlagsReplace:
		return slices.Clone(flags)
	case store.FlagsAdd:
		out := append(slices.Clone(cur), flags...)
		slices.Sort(out)
		return slices.Compact(out)
	case store.FlagsRemove:
		return slices.DeleteFunc(slices.Clone(cur), func(f string) bool {
			_, found := slices.BinarySearch(flags, f)
			return found
		})
	}
	return cur
}
