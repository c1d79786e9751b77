package load

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// fakeConn is a conn reading from data (the parsers only read).
func fakeConn(data []byte) *conn {
	return &conn{r: bufio.NewReaderSize(bytes.NewReader(data), 4096)}
}

// FuzzIMAPResponses: whatever a server sends, reading responses ends
// (EOF or an error) without panicking, and UID parsing never panics.
func FuzzIMAPResponses(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] ready\r\n",
		"* 1 FETCH (UID 7 BODY[] {5}\r\nhello)\r\na1 OK done\r\n",
		"* SEARCH 1 2 3\r\n* 3 EXISTS\r\na2 OK [APPENDUID 1 9] ok\r\n",
		"* 1 FETCH (BODY[] {99999999999}\r\n",
		"* 1 FETCH (BODY[] {3+}\r\nab",
		"+ idling\r\n* STATUS INBOX (MESSAGES 12)\r\n",
		"a1 NO [ALERT] nope\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &imapClient{conn: fakeConn(data), caps: map[string]bool{}}
		for range 1000 {
			resp, err := c.readResponse()
			if err != nil {
				break
			}
			c.parseCaps(resp)
			parseUIDs([][]byte{resp}, nil)
		}
		c2 := &imapClient{conn: fakeConn(data), caps: map[string]bool{}}
		_, _ = c2.finish("a1")
		c3 := &imapClient{conn: fakeConn(append([]byte("* STATUS x (MESSAGES 1)\r\n"), data...)), caps: map[string]bool{}}
		_, _ = c3.finish("a1")
	})
}

// FuzzSMTPReplies: reply parsing ends without panicking, and a reply it
// accepts has a three-digit code.
func FuzzSMTPReplies(f *testing.F) {
	for _, s := range []string{
		"220 mx.test ESMTP\r\n",
		"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
		"354 go\r\n", "25\r\n", "abc def\r\n", "250-\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fakeConn(data)
		for range 1000 {
			code, _, err := readReply(c)
			if err != nil {
				break
			}
			if code < 0 || code > 999 {
				t.Fatalf("code %d", code)
			}
		}
	})
}

// FuzzPOP3: status and multi-line reading end without panicking.
func FuzzPOP3(f *testing.F) {
	for _, s := range []string{"+OK 2 320\r\n", "+OK\r\n1 abc\r\n.\r\n", "-ERR no\r\n", "+OK\r\n..stuffed\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fakeConn(data)
		for range 100 {
			if _, err := pop3Reply(c); err != nil && strings.Contains(err.Error(), "EOF") {
				break
			}
			if _, err := pop3Multi(c); err != nil {
				break
			}
		}
	})
}

// FuzzResults: the RESULT line parser and the table never panic.
func FuzzResults(f *testing.F) {
	f.Add("RESULT scenario=smtp e2e_per_sec=1 server=mailhouse round=1\nRESULT scenario=smtp e2e_per_sec=0 server=peer round=1\n")
	f.Add("RESULT scenario=idle pss_mib=NaN server=peer\nRESULT x\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResults(strings.NewReader(s))
		if err != nil {
			return
		}
		var b strings.Builder
		Table(&b, rs)
		for _, r := range rs {
			_ = r.String()
		}
	})
}

// TestHostileServer: an oversized literal and an endless line are
// refused, not allocated.
func TestHostileServer(t *testing.T) {
	c := &imapClient{conn: fakeConn([]byte("* 1 FETCH (BODY[] {999999999999}\r\n")), caps: map[string]bool{}}
	if _, err := c.readResponse(); err == nil || !strings.Contains(err.Error(), "over") {
		t.Fatalf("huge literal: %v", err)
	}
	long := bytes.Repeat([]byte("a"), maxLine+10000)
	if _, err := fakeConn(long).readLine(); err != errLongLine {
		t.Fatalf("long line: %v", err)
	}
}
