package imapd

import (
	"slices"
	"strings"

	"mailhouse/internal/imapd/imapwire"
	"mailhouse/internal/store"
)

// maxPatternLength bounds a LIST pattern, so matching stays cheap.
const maxPatternLength = 1000

// listEntry is one name LIST may return.
type listEntry struct {
	name       string
	mb         *store.Mailbox // nil for a missing parent of existing names
	children   bool
	subscribed bool
}

// cmdList serves LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE) and LSUB (RFC 3501 §6.3.9).
func (s *session) cmdList(c *imapwire.Command) error {
	lr := c.List
	var onlySubscribed, onlySpecial, retSubscribed, retStatus bool
	for _, o := range lr.SelectOpts {
		switch o {
		case "SUBSCRIBED":
			onlySubscribed, retSubscribed = true, true
		case "SPECIAL-USE":
			onlySpecial = true
		case "REMOTE", "RECURSIVEMATCH":
		default:
			return bad("unknown LIST selection option %s", o)
		}
	}
	if slices.Contains(lr.SelectOpts, "RECURSIVEMATCH") && !onlySubscribed {
		return bad("RECURSIVEMATCH needs another selection option") // RFC 5258 §3
	}
	for _, o := range lr.ReturnOpts {
		switch o {
		case "SUBSCRIBED":
			retSubscribed = true
		case "CHILDREN", "SPECIAL-USE":
		case "STATUS":
			retStatus = true
			if err := statusItems(lr.StatusItems); err != nil {
				return err
			}
		default:
			return bad("unknown LIST return option %s", o)
		}
	}
	lsub := c.Name == "LSUB"
	if lsub {
		onlySubscribed = true
	}

	// RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
	if len(lr.Patterns) == 1 && lr.Patterns[0] == "" {
		s.writeString("* " + c.Name + ` (\Noselect) "/" ""` + "\r\n")
		return nil
	}

	ref, err := s.listPattern(lr.Ref)
	if err != nil {
		return err
	}
	var patterns []string
	for _, p := range lr.Patterns {
		pat, err := s.listPattern(p)
		if err != nil {
			return err
		}
		if pat != "" {
			patterns = append(patterns, canonicalInbox(ref+pat))
		}
	}

	ctx, cancel := s.ctx()
	defer cancel()
	mbs, err := s.srv.o.Store.ListMailboxes(ctx, s.account.ID)
	if err != nil {
		return s.storeError(err, c.Name)
	}
	entries := listEntries(mbs)
	for _, e := range entries {
		match := false
		for _, p := range patterns {
			if matchPattern(p, e.name) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		if e.mb == nil {
			// A missing parent: only '%' patterns show it (RFC 9051
			// §6.3.9), and never for LSUB or selection options.
			if onlySubscribed || onlySpecial || !hasPercentOnly(patterns) {
				continue
			}
		}
		if onlySubscribed && !e.subscribed {
			continue
		}
		if onlySpecial && (e.mb == nil || e.mb.SpecialUse == "") {
			continue
		}
		var attrs []string
		if e.mb == nil {
			attrs = append(attrs, `\NonExistent`)
			if !s.rev2 && len(lr.SelectOpts) == 0 && len(lr.ReturnOpts) == 0 {
				attrs[0] = `\Noselect`
			}
		}
		if !lsub {
			// RFC 3348 CHILDREN, sent always (RFC 9051 §7.3.1 recommends it).
			if e.children {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
			if retSubscribed && e.subscribed {
				attrs = append(attrs, `\Subscribed`)
			}
			// RFC 6154 §2: special-use attributes in every LIST, so that
			// clients find Sent, Drafts ... without asking.
			if e.mb != nil && e.mb.SpecialUse != "" {
				attrs = append(attrs, e.mb.SpecialUse)
			}
		}
		b := append(make([]byte, 0, 64), "* "...)
		b = append(b, c.Name...)
		b = append(b, " ("...)
		b = append(b, strings.Join(attrs, " ")...)
		b = append(b, `) "/" `...)
		b = s.appendName(b, e.name)
		b = append(b, "\r\n"...)
		s.writeBytes(b)
		if retStatus && e.mb != nil {
			if err := s.writeStatus(*e.mb, lr.StatusItems); err != nil {
				return err
			}
		}
	}
	return nil
}

// listPattern decodes a reference or pattern from modified UTF-7.
func (s *session) listPattern(p string) (string, error) {
	if len(p) > maxPatternLength {
		return "", bad("pattern too long")
	}
	if s.utf8Names() {
		return p, nil
	}
	if dec, err := imapwire.DecodeUTF7(p); err == nil {
		return dec, nil
	}
	return p, nil
}

// canonicalInbox spells a leading "inbox" as "INBOX", which matches
// case-insensitively (RFC 9051 §5.1).
func canonicalInbox(p string) string {
	if len(p) >= 5 && strings.EqualFold(p[:5], "INBOX") && (len(p) == 5 || p[5] == '/' || p[5] == '*' || p[5] == '%') {
		return "INBOX" + p[5:]
	}
	return p
}

func hasPercentOnly(patterns []string) bool {
	for _, p := range patterns {
		if strings.Contains(p, "*") {
			return false
		}
	}
	return true
}

// listEntries returns the mailboxes with their child information, and
// the missing parents of nested names, ordered by name.
func listEntries(mbs []store.Mailbox) []listEntry {
	byName := make(map[string]int, len(mbs))
	var out []listEntry
	for i := range mbs {
		byName[mbs[i].Name] = len(out)
		out = append(out, listEntry{name: mbs[i].Name, mb: &mbs[i], subscribed: mbs[i].Subscribed})
	}
	for i := range mbs {
		name := mbs[i].Name
		for {
			j := strings.LastIndexByte(name, '/')
			if j < 0 {
				break
			}
			name = name[:j]
			if k, ok := byName[name]; ok {
				out[k].children = true
				break
			}
			byName[name] = len(out)
			out = append(out, listEntry{name: name, children: true})
		}
	}
	slices.SortFunc(out, func(a, b listEntry) int {
		if a.name == "INBOX" {
			return -1
		}
		if b.name == "INBOX" {
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// matchPattern matches a name against a LIST pattern: "*" matches
// anything, "%" anything but the delimiter "/" (RFC 9051 §6.3.9). It runs
// in time proportional to len(pattern)·len(name).
func matchPattern(pattern, name string) bool {
	// prev[j]: pattern[:i] matches name[:j].
	prev := make([]bool, len(name)+1)
	cur := make([]bool, len(name)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		pc := pattern[i]
		switch pc {
		case '*', '%':
			cur[0] = prev[0]
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j] || (cur[j-1] && (pc == '*' || name[j-1] != '/'))
			}
		default:
			cur[0] = false
			for j := 1; j <= len(name); j++ {
				cur[j] = prev[j-1] && name[j-1] == pc
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(name)]
}
