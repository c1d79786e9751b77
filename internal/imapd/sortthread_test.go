package imapd_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailhouse/internal/config"
)

// sortFixture is 30 messages made to trip SORT and THREAD (RFC 5256):
// list tags, Re:/RE:/Fw:/Fwd:, "(fwd)" trailers and "[Fwd: ...]"
// wrappers, encoded words, blob-only subjects, case differences, a
// missing Date and Subject, time zones that invert the order, a missing
// parent, a reference loop, a truncated References line, a duplicate and
// a missing Message-ID, and a quoted msg-id. Each is appended with an
// INTERNALDATE of 7*n mod 30 minutes past midnight (ARRIVAL is a
// permutation) and a body of 1000*(11*n mod 31) bytes (SIZE is another).
// The expected orders below were worked out by hand from RFC 5256 and
// RFC 5957, not taken from the code.
var sortFixture = []struct {
	from, subject, date, id, refs, extra string
}{
	1:  {`"Zoe Adams" <zoe@example.org>`, "[dev] Project plan", "Mon, 01 Jan 2024 10:00:00 +0000", "<a1@x.test>", "", ""},
	2:  {`"bob" <Bob@example.org>`, "Re: [dev] Project plan", "Tue, 02 Jan 2024 09:00:00 +0000", "<a2@x.test>", "<a1@x.test>", ""},
	3:  {`<alice@example.org>`, "RE: Re: [dev] Project plan", "Wed, 03 Jan 2024 08:00:00 +0000", "<a3@x.test>", "<a1@x.test> <a2@x.test>", "Cc: Zed <zed@example.org>\r\n"},
	4:  {`"Carol" <carol@example.org>`, "Re: [dev] Project plan", "Tue, 02 Jan 2024 12:00:00 +0000", "<a4@x.test>", "", "In-Reply-To: <\"a1\"@x.test>\r\n"},
	5:  {`=?UTF-8?Q?=C3=89mile?= <emile@example.org>`, "=?UTF-8?Q?Caf=C3=A9_=E2=98=95?=", "Fri, 05 Jan 2024 10:00:00 +0000", "<b1@x.test>", "", ""},
	6:  {`<dave@example.org>`, "Re: =?UTF-8?B?Q2Fmw6kg4piV?=", "Fri, 05 Jan 2024 11:00:00 +0000", "<b2@x.test>", "<b1@x.test>", ""},
	7:  {`"Zoe Adams" <zoe@example.org>`, "[Fwd: =?UTF-8?Q?Caf=C3=A9_=E2=98=95?=]", "Sat, 06 Jan 2024 10:00:00 +0000", "<b3@x.test>", "", ""},
	8:  {`"Bob" <bob@example.org>`, "Re: Lunch?", "Sun, 07 Jan 2024 12:00:00 +0000", "<c2@x.test>", "<c1@x.test>", ""},
	9:  {`"alice" <ALICE@example.org>`, "Re: Lunch?", "Sun, 07 Jan 2024 12:30:00 +0000", "<c3@x.test>", "<c1@x.test>", ""},
	10: {`"Carol" <carol@example.org>`, "Weekly report", "Mon, 08 Jan 2024 10:00:00 +0000", "<d1@x.test>", "", "Cc: Amy <amy@example.org>\r\n"},
	11: {`"Bob" <bob@example.org>`, "Re: Weekly report", "Tue, 09 Jan 2024 10:00:00 +0000", "<d2@x.test>", "", ""},
	12: {`<carol@example.org>`, "Weekly report", "Mon, 15 Jan 2024 10:00:00 +0000", "<d3@x.test>", "", ""},
	13: {`"Zoe Adams" <zoe@example.org>`, "Invoice 42 (fwd)", "Wed, 10 Jan 2024 10:00:00 +0000", "<e1@x.test>", "", ""},
	14: {`"Dave" <dave@example.org>`, "Fw: Invoice 42", "Thu, 11 Jan 2024 10:00:00 +0000", "<e2@x.test>", "<e1@x.test>", ""},
	15: {`<alice@example.org>`, "Duplicate id", "Fri, 12 Jan 2024 10:00:00 +0000", "<a1@x.test>", "", ""},
	16: {``, "No id", "Sat, 13 Jan 2024 10:00:00 +0000", "", "", ""},
	17: {`"Bob" <bob@example.org>`, "", "Sun, 14 Jan 2024 09:00:00 +0000", "<g1@x.test>", "", ""},
	18: {`"Carol" <carol@example.org>`, "Re:", "Sun, 14 Jan 2024 10:00:00 +0000", "<g2@x.test>", "", ""},
	19: {`"Ann" <ann@example.org>`, "Zebra", "", "<h1@x.test>", "", ""},
	20: {`"Dave" <dave@example.org>`, "Time zones", "Tue, 02 Jan 2024 23:30:00 -0500", "<i1@x.test>", "", "Cc: bob@example.org\r\n"},
	21: {`"Zoe Adams" <zoe@example.org>`, "Re: Time zones", "Wed, 03 Jan 2024 01:00:00 +0100", "<i2@x.test>", "<i1@x.test>", ""},
	22: {`<alice@example.org>`, "Loop", "Tue, 16 Jan 2024 10:00:00 +0000", "<j1@x.test>", "<j2@x.test>", ""},
	23: {`"Bob" <bob@example.org>`, "Re: Loop", "Wed, 17 Jan 2024 10:00:00 +0000", "<j2@x.test>", "<j1@x.test>", ""},
	24: {`"Carol" <carol@example.org>`, "Chain", "Thu, 18 Jan 2024 10:00:00 +0000", "<k1@x.test>", "", ""},
	25: {`"Dave" <dave@example.org>`, "Re: Chain", "Fri, 19 Jan 2024 10:00:00 +0000", "<k2@x.test>", "<k1@x.test>", ""},
	26: {`=?UTF-8?Q?=C3=89mile?= <emile@example.org>`, "Re: Chain", "Sat, 20 Jan 2024 10:00:00 +0000", "<k3@x.test>", "<k2@x.test>", ""},
	27: {`"Zoe Adams" <zoe@example.org>`, "[PATCH]", "Sun, 21 Jan 2024 10:00:00 +0000", "<l1@x.test>", "", ""},
	28: {`<alice@example.org>`, "[list] [PATCH]", "Mon, 22 Jan 2024 10:00:00 +0000", "<l2@x.test>", "", ""},
	29: {`"bob" <bob@example.org>`, "hello WORLD", "Tue, 23 Jan 2024 10:00:00 +0000", "<m1@x.test>", "", ""},
	30: {`"Carol" <carol@example.org>`, "Hello world", "Wed, 24 Jan 2024 10:00:00 +0000", "<m2@x.test>", "", ""},
}

// appendSortFixture creates mailbox "Sorting" with the fixture; UIDs
// equal sequence numbers.
func appendSortFixture(t *testing.T, c *client) {
	t.Helper()
	c.ok("CREATE Sorting")
	for n := 1; n <= 30; n++ {
		m := sortFixture[n]
		var b strings.Builder
		if m.from != "" {
			b.WriteString("From: " + m.from + "\r\n")
		}
		b.WriteString("To: alice@example.test\r\n")
		b.WriteString(m.extra)
		if n != 17 {
			b.WriteString("Subject: " + m.subject + "\r\n")
		}
		if m.date != "" {
			b.WriteString("Date: " + m.date + "\r\n")
		}
		if m.id != "" {
			b.WriteString("Message-ID: " + m.id + "\r\n")
		}
		if m.refs != "" {
			b.WriteString("References: " + m.refs + "\r\n")
		}
		b.WriteString("\r\n")
		body := 1000 * (11 * n % 31)
		for body > 0 {
			k := min(body, 80)
			b.WriteString(strings.Repeat("x", k-2) + "\r\n")
			body -= k
		}
		msg := b.String()
		date := fmt.Sprintf("01-Feb-2024 00:%02d:00 +0000", 7*n%30)
		c.write(fmt.Sprintf("a%d APPEND Sorting \"%s\" {%d+}\r\n%s\r\n", n, date, len(msg), msg))
		c.expect(fmt.Sprintf("a%d OK [APPENDUID ", n))
	}
}

func TestSortFixture(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	c := ts.login(t, alice())
	appendSortFixture(t, c)
	c.ok("SELECT Sorting")
	for _, tc := range []struct{ cmd, want string }{
		{"SORT (ARRIVAL) UTF-8 ALL", "30 13 26 9 22 5 18 1 14 27 10 23 6 19 2 15 28 11 24 7 20 3 16 29 12 25 8 21 4 17"},
		{"SORT (DATE) UTF-8 ALL", "1 2 4 21 20 3 5 6 7 8 9 10 11 13 14 15 16 17 18 12 22 23 24 25 26 27 28 29 30 19"},
		{"SORT (REVERSE DATE) UTF-8 ALL", "19 30 29 28 27 26 25 24 23 22 12 18 17 16 15 14 13 11 10 9 8 7 6 5 3 20 21 4 2 1"},
		{"SORT (SUBJECT) UTF-8 ALL", "17 18 5 6 7 24 25 26 15 29 30 13 14 22 23 8 9 16 1 2 3 4 20 21 10 11 12 19 27 28"},
		{"SORT (SUBJECT DATE) US-ASCII ALL", "17 18 5 6 7 24 25 26 15 29 30 13 14 22 23 8 9 16 1 2 4 3 21 20 10 11 12 19 27 28"},
		{"SORT (FROM) UTF-8 ALL", "16 3 9 15 22 28 19 2 8 11 17 23 29 4 10 12 18 24 30 6 14 20 25 5 26 1 7 13 21 27"},
		{"SORT (REVERSE FROM) UTF-8 ALL", "1 7 13 21 27 5 26 6 14 20 25 4 10 12 18 24 30 2 8 11 17 23 29 19 3 9 15 22 28 16"},
		{"SORT (DISPLAYFROM) UTF-8 ALL", "16 9 3 15 22 28 19 2 8 11 17 23 29 4 10 18 24 30 12 14 20 25 6 1 7 13 21 27 5 26"},
		{"SORT (CC) UTF-8 ALL", "1 2 4 5 6 7 8 9 11 12 13 14 15 16 17 18 19 21 22 23 24 25 26 27 28 29 30 10 20 3"},
		{"SORT (SIZE) UTF-8 ALL", "17 3 20 6 23 9 26 12 29 15 1 18 4 21 7 24 10 27 13 30 16 2 19 5 22 8 25 11 28 14"},
		{"SORT (TO DATE) UTF-8 FROM bob", "2 8 11 17 23 29"},
		{"UID SORT (REVERSE SUBJECT) UTF-8 UID 1:5", "1 2 3 4 5"},
	} {
		u := c.ok("%s", tc.cmd)
		if len(u) != 1 || u[0] != strings.TrimSpace("* SORT "+tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.cmd, u, "* SORT "+tc.want)
		}
	}
	if st := c.status("SORT (DATE) ISO-8859-1 ALL"); !strings.HasPrefix(st, "NO [BADCHARSET (UTF-8 US-ASCII)]") {
		t.Errorf("unsupported charset: %s", st)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "(1 (2)(4)(3))(21 20)(5 (6)(7))(8 9)(10 (11)(12))(13 14)(15)(16)(17 18)(22 23)(24 (25)(26))(27 28)(29 30)(19)"},
		{"THREAD REFERENCES UTF-8 ALL", "(1 (2 3)(4))(20 21)(5 (6)(7))((8)(9))((10 11)(12))(13 14)(15)(16)(17)(18)(23 22)(24 25 26)((27)(28))((29)(30))(19)"},
		{"UID THREAD REFERENCES UTF-8 FROM zoe", "(1)(21)(7)(13)(27)"},
		{"THREAD REFERENCES UTF-8 SUBJECT nothing-matches", ""},
	} {
		u := c.ok("%s", tc.cmd)
		if len(u) != 1 || u[0] != strings.TrimSpace("* THREAD "+tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.cmd, u, "* THREAD "+tc.want)
		}
	}
	if st := c.status("THREAD XYZ UTF-8 ALL"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("unknown algorithm: %s", st)
	}
}

// TestSortThreadImapclient: go-imap's client parses our SORT and THREAD
// responses (UID forms) as webmail would use them.
func TestSortThreadImapclient(t *testing.T) {
	ts := startServer(t, config.IMAP{})
	appendSortFixture(t, ts.login(t, alice()))
	c := dialClient(t, ts, alice(), nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(caps.ThreadAlgorithms()) != 2 || !caps.Has(imap.CapSort) || !caps.Has(imap.CapSortDisplay) {
		t.Errorf("capabilities: %v", caps)
	}
	if _, err := c.Select("Sorting", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	nums, err := c.UIDSort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "plan"}}},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeyDate, Reverse: true}},
	}).Wait()
	if err != nil || fmt.Sprint(nums) != "[3 4 2 1]" {
		t.Errorf("UID SORT: %v, %v", nums, err)
	}
	threads, err := c.UIDThread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	if err != nil || len(threads) != 15 {
		t.Fatalf("UID THREAD: %d threads, %v", len(threads), err)
	}
	first := threads[0]
	if len(first.Chain) != 1 || first.Chain[0] != 1 || len(first.SubThreads) != 2 || fmt.Sprint(first.SubThreads[0].Chain) != "[2 3]" {
		t.Errorf("first thread: %+v", first)
	}
	if lunch := threads[3]; len(lunch.Chain) != 0 || len(lunch.SubThreads) != 2 {
		t.Errorf("dummy-rooted thread: %+v", lunch)
	}
}
