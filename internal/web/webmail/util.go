package webmail

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/store"
)

// section formats an IMAP section number.
func section(path []int) string {
	var b strings.Builder
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// parseSection reads a section number ("2.1").
func parseSection(s string) ([]int, bool) {
	if s == "" || len(s) > 200 {
		return nil, false
	}
	var out []int
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > message.MaxParts {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func appendPath(path []int, n int) []int {
	out := make([]int, len(path), len(path)+1)
	copy(out, path)
	return append(out, n)
}

func parseUID(s string) (store.UID, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, errNoPart
	}
	return store.UID(n), nil
}

// msgRef names a message in forms and links: "mailbox:uid".
func msgRef(mb store.MailboxID, uid store.UID) string {
	return strconv.FormatInt(int64(mb), 10) + ":" + strconv.FormatUint(uint64(uid), 10)
}

func parseDate(v string) time.Time {
	t, _ := message.ParseDate(v)
	return t
}

// truncateUTF8 cuts s to at most n bytes on a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// withParam adds a query parameter to a URL path with or without a
// query.
func withParam(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}
