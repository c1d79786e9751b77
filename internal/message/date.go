package message

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// ParseDate parses a Date header value: RFC 5322 first (net/mail), then a
// tolerant reading of the forms seen in the wild (missing or wrong weekday,
// two-digit years, missing seconds, named or missing zones, ISO 8601,
// asctime). The result has a fixed zone with the header's offset; ok is
// false when no date can be recognised.
func ParseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 200 {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(v); err == nil {
		// time.Parse gives zone names it does not know (EST, CET...) a
		// zero offset; RFC 5322 §4.3 defines the US ones.
		if name, off := t.Zone(); off == 0 && name != "" {
			if o, ok := zoneOffset(name); ok && o != 0 {
				t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone("", o))
			}
		}
		return fixedZone(t)
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return fixedZone(t)
	}
	return parseDateLax(v)
}

// fixedZone rebuilds t in a fixed zone with its offset, so that the result
// does not depend on the local time zone and survives Marshal/Unmarshal.
func fixedZone(t time.Time) (time.Time, bool) {
	if t.Year() < 1000 || t.Year() > 9999 {
		return time.Time{}, false
	}
	_, off := t.Zone()
	return time.Unix(t.Unix(), 0).In(time.FixedZone("", off)), true
}

// zoneOffset knows the RFC 5322 §4.3 obsolete zone names and a few common
// others, in seconds east of UTC.
func zoneOffset(name string) (int, bool) {
	switch strings.ToUpper(name) {
	case "UT", "UTC", "GMT", "Z", "WET":
		return 0, true
	case "EST":
		return -5 * 3600, true
	case "EDT":
		return -4 * 3600, true
	case "CST":
		return -6 * 3600, true
	case "CDT":
		return -5 * 3600, true
	case "MST":
		return -7 * 3600, true
	case "MDT":
		return -6 * 3600, true
	case "PST":
		return -8 * 3600, true
	case "PDT":
		return -7 * 3600, true
	case "CET", "MET", "BST", "WEST":
		return 3600, true
	case "CEST", "MEST", "EET":
		return 2 * 3600, true
	case "EEST", "MSK":
		return 3 * 3600, true
	case "JST", "KST":
		return 9 * 3600, true
	}
	return 0, false
}

// parseDateLax finds a day, a month name, a year, a time and a zone among
// the words of v, in any order.
func parseDateLax(v string) (time.Time, bool) {
	v = stripComments(v)
	var words []string
	for _, w := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n'
	}) {
		if w[0] == '+' || w[0] == '-' {
			words = append(words, w) // a zone
			continue
		}
		words = append(words, strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '/' })...)
	}
	day, month, year := -1, -1, -1
	hh, mm, ss := -1, 0, 0
	off, haveZone := 0, false
	for _, w := range words {
		switch {
		case month < 0 && len(w) >= 3 && monthIndex(w) > 0:
			month = monthIndex(w)
		case hh < 0 && strings.Count(w, ":") >= 1 && parseClock(w, &hh, &mm, &ss):
		case !haveZone && (w[0] == '+' || w[0] == '-') && len(w) >= 3:
			if o, ok := numericZone(w[1:]); ok {
				off, haveZone = o, true
				if w[0] == '-' {
					off = -off
				}
			}
		case isDigits(w):
			n, _ := strconv.Atoi(w)
			switch {
			case day < 0 && len(w) <= 2 && n >= 1 && n <= 31:
				day = n
			case year < 0 && len(w) == 4:
				year = n
			case year < 0 && len(w) <= 3:
				// RFC 5322 §4.3: 00-49 are 2000-2049, 50-999 add 1900.
				if n < 50 {
					year = n + 2000
				} else {
					year = n + 1900
				}
			}
		case !haveZone:
			if o, ok := zoneOffset(w); ok {
				off, haveZone = o, true
			}
		}
	}
	if day < 0 || month < 0 || year < 0 {
		return time.Time{}, false
	}
	if hh < 0 {
		hh = 0
	}
	if hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.FixedZone("", off))
	if t.Day() != day {
		return time.Time{}, false // 31 Feb
	}
	return fixedZone(t)
}

// monthIndex returns 1-12 for an English month name or abbreviation of
// at least three letters ("Feb", "Feb.", "Sept", "February"), else 0.
func monthIndex(w string) int {
	w = strings.ToLower(strings.TrimSuffix(w, "."))
	if len(w) < 3 {
		return 0
	}
	for m := time.January; m <= time.December; m++ {
		if strings.HasPrefix(strings.ToLower(m.String()), w) {
			return int(m)
		}
	}
	return 0
}

// parseClock parses "hh:mm" or "hh:mm:ss" (a ".fraction" is ignored).
func parseClock(w string, hh, mm, ss *int) bool {
	parts := strings.Split(w, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	if i := strings.IndexByte(parts[len(parts)-1], '.'); i >= 0 {
		parts[len(parts)-1] = parts[len(parts)-1][:i]
	}
	var n [3]int
	for k, p := range parts {
		if !isDigits(p) || len(p) > 2 {
			return false
		}
		n[k], _ = strconv.Atoi(p)
	}
	*hh, *mm, *ss = n[0], n[1], n[2]
	return true
}

// numericZone parses "hhmm" or "hh:mm" into seconds.
func numericZone(w string) (int, bool) {
	w = strings.Replace(w, ":", "", 1)
	if len(w) != 4 || !isDigits(w) {
		return 0, false
	}
	h, _ := strconv.Atoi(w[:2])
	m, _ := strconv.Atoi(w[2:])
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*3600 + m*60, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
