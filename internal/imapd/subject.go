package imapd

import "strings"

// baseSubject extracts the "base subject" of RFC 5256 §2.1 from a
// subject already decoded to UTF-8 (step 1's RFC 2047 decoding is done
// at delivery, message.Envelope.SubjectDecoded), and says whether the
// extraction removed a reply or forward marker (a subj-refwd, a "(fwd)"
// trailer or a "[fwd: ...]" wrapper), which THREAD=REFERENCES needs
// (RFC 5256 §4).
//
// The ABNF's BLOBCHAR is any CHAR but "[" and "]"; as Dovecot does, a
// blob here may also hold non-ASCII text ("[日本語リスト] Re: x"), which
// mailing lists put there once the subject is UTF-8.
func baseSubject(subject string) (base string, isReply bool) {
	s := normalizeSpace(subject)
	for {
		// (2) Remove subj-trailer ("(fwd)" / WSP) from the end, repeatedly.
		for {
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
				continue
			}
			if n := len(s); n >= 5 && strings.EqualFold(s[n-5:], "(fwd)") {
				s = s[:n-5]
				isReply = true
				continue
			}
			break
		}
		// (3) to (5): remove subj-leader, then a subj-blob that leaves
		// something behind, until neither matches.
		s, isReply = cutLeaders(s, isReply)
		// (6) "[fwd:" subject "]": unwrap and start again at (2).
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			isReply = true
			continue
		}
		return s, isReply
	}
}

// normalizeSpace turns tabs, line breaks and runs of white space into
// single spaces (RFC 5256 §2.1 step 1).
func normalizeSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// cutLeaders does steps (3) to (5): it removes subj-leaders (a WSP, or
// *subj-blob subj-refwd, where subj-refwd = ("re" / ("fw" ["d"])) *WSP
// [subj-blob] ":") and leading subj-blobs that leave text behind, until
// none is left. Blobs not followed by a subj-refwd are removed together
// (the step-by-step removal would rescan them each time: quadratic on a
// subject made of many blobs).
func cutLeaders(s string, isReply bool) (string, bool) {
	for {
		if strings.HasPrefix(s, " ") {
			s = s[1:]
			continue
		}
		t, last := s, s
		blobs := 0
		for {
			r, ok := cutBlob(t)
			if !ok {
				break
			}
			last, t = t, r
			blobs++
		}
		if rest, ok := cutRefwd(t); ok {
			s, isReply = rest, true
			continue
		}
		switch {
		case blobs == 0:
			return s, isReply
		case t != "":
			s = t
		case blobs > 1:
			// Only blobs: the last one is the subj-base.
			s = last
		default:
			return s, isReply
		}
	}
}

// cutRefwd removes a leading subj-refwd.
func cutRefwd(t string) (string, bool) {
	switch {
	case hasPrefixFold(t, "re"):
		t = t[2:]
	case hasPrefixFold(t, "fwd"):
		t = t[3:]
	case hasPrefixFold(t, "fw"):
		t = t[2:]
	default:
		return "", false
	}
	t = strings.TrimLeft(t, " ")
	if r, ok := cutBlob(t); ok {
		t = r
	}
	if !strings.HasPrefix(t, ":") {
		return "", false
	}
	return t[1:], true
}

// cutBlob removes a leading subj-blob: "[" *BLOBCHAR "]" *WSP.
func cutBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimLeft(s[end+2:], " "), true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// collationKey maps s for comparison under i;ascii-casemap (RFC 4790
// §9.2), the collation of RFC 5256 without I18NLEVEL: ASCII letters
// compare without case, every other octet as itself.
func collationKey(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
