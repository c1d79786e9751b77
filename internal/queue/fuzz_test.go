package queue

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"mailhouse/internal/message"
	"mailhouse/internal/smtpclient"
)

// Remote reply text and the original header end up in a report: no
// input may break its structure or inject header lines.
func FuzzReport(f *testing.F) {
	f.Add("mx.b.test", "550 5.1.1 no such user", []byte("Subject: x\r\n\r\nbody"))
	f.Add("h\r\nX-Injected: yes", "line1\r\nX-Injected: yes\r\n\r\n--boundary", []byte("From: a\r\n"))
	f.Add("", "\x00\xff", []byte{})
	f.Fuzz(func(t *testing.T, host, text string, data []byte) {
		ri := reportInfo{
			hostname: "mx.a.test", sender: "alice@a.test", arrival: time.Unix(0, 0), now: time.Unix(100, 0), until: time.Unix(200, 0),
			rcpts:  []reportRcpt{{addr: "bob@b.test", err: &smtpclient.Error{Code: 550, Enhanced: "5.1.1", Message: text, Host: host}}},
			header: originalHeader(data),
		}
		msg := buildReport(ri)
		if bytes.Contains(msg, []byte("\r\nX-Injected")) && !bytes.Contains(data, []byte("X-Injected")) {
			t.Fatalf("header injected:\n%s", msg)
		}
		s := message.Parse(msg)
		if s == nil || !strings.EqualFold(s.Root.Type, "multipart") {
			t.Fatalf("report does not parse as multipart")
		}
	})
}
