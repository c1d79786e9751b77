package smtpclient

import (
	"bufio"
	"strings"
	"testing"
)

// A hostile server cannot make us read a reply without end.
func TestReplyLimits(t *testing.T) {
	for name, in := range map[string]string{
		"too many lines": strings.Repeat("250-x\r\n", maxReplyLines+1) + "250 end\r\n",
		"line too long":  "250 " + strings.Repeat("x", maxLine+1) + "\r\n",
		"code changes":   "250-a\r\n550 b\r\n",
		"no code":        "hello\r\n",
	} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r, err := readReply(bufio.NewReader(strings.NewReader(strings.Repeat("250-x\r\n", maxReplyLines-1) + "250 end\r\n")))
	if err != nil || r.code != 250 {
		t.Errorf("longest allowed reply: %v", err)
	}
	e := reply{code: 452, text: "4.2.2 mailbox full"}.err("mx")
	if e.Enhanced != "4.2.2" || e.Message != "mailbox full" || !e.Temporary {
		t.Errorf("%+v", e)
	}
	if e := (reply{code: 550, text: "4.2.2 class mismatch"}).err("mx"); e.Enhanced != "" || e.Temporary {
		t.Errorf("enhanced code of the wrong class kept: %+v", e)
	}
}
