package message

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" when unparseable
	}{
		{"Mon, 2 Jan 2006 15:04:05 -0700", "2006-01-02T15:04:05-07:00"},
		{"2 Jan 2006 15:04:05 +0000", "2006-01-02T15:04:05Z"},
		{"Mon, 02 Jan 2006 15:04:05 -0700 (MST)", "2006-01-02T15:04:05-07:00"},
		{"Sat, 01 Feb 2007 01:02:03 +0200", "2007-02-01T01:02:03+02:00"}, // wrong weekday
		{"Wed, 11 Feb 98 11:51 CST", "1998-02-11T11:51:00-06:00"},
		{"Thu, 13 Feb 69 23:32:54 -0330", "1969-02-13T23:32:54-03:30"},
		{"Tue, 1 Jul 2003 10:52:37 GMT", "2003-07-01T10:52:37Z"},
		{"1 Jul 2003 10:52 EDT", "2003-07-01T10:52:00-04:00"},
		{"Fri, 21 Nov 1997 09:55:06 -0600 (MDT)", "1997-11-21T09:55:06-06:00"},
		{"Thu Feb 15 01:02:03 2007", "2007-02-15T01:02:03Z"},        // asctime
		{"15-Feb-2007 01:02:03 +0100", "2007-02-15T01:02:03+01:00"}, // dashes
		{"2007-02-15T01:02:03+01:00", "2007-02-15T01:02:03+01:00"},  // ISO 8601
		{"Tuesday, 9 September 2003 10:00:00 +02:00", "2003-09-09T10:00:00+02:00"},
		{"Mon, 2 Jan 2006 15:04:05", "2006-01-02T15:04:05Z"}, // no zone
		{"Mon, 2 Jan 2006", "2006-01-02T00:00:00Z"},
		{"", ""},
		{"not a date", ""},
		{"31 Feb 2006 10:00:00 +0000", ""},
		{"Mon, 2 Jan 2006 25:04:05 +0000", ""},
	}
	for _, tc := range tests {
		got, ok := ParseDate(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("ParseDate(%q) = %v, want failure", tc.in, got)
			}
			continue
		}
		want, _ := time.Parse(time.RFC3339, tc.want)
		_, wo := want.Zone()
		_, go_ := got.Zone()
		if !ok || !got.Equal(want) || wo != go_ {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, ok, want)
		}
	}
}
