package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"mailhouse/internal/smtpclient"
	"mailhouse/internal/store"
)

// maxReturnedHeader bounds the original header copied into a report.
const maxReturnedHeader = 64 << 10

// report builds a delivery status notification (RFC 3464, in the
// multipart/report of RFC 6522) to the sender of e about rcpts: a
// failure, or with delayed a warning that delivery goes on. It returns
// the message to queue, from the null sender (RFC 5321 §6.2: so that it
// never causes a report itself).
func (q *Queue) report(e store.QueueEntry, data []byte, rcpts []reportRcpt, delayed bool, now time.Time) store.NewQueueEntry {
	msg := buildReport(reportInfo{
		hostname: q.o.Hostname, sender: e.From, arrival: e.Created, now: now,
		rcpts: rcpts, delayed: delayed, until: e.Created.Add(q.cfg.MaxAge),
		header: originalHeader(data),
	})
	if q.o.Sign != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msg = q.o.Sign(ctx, msg)
		cancel()
	}
	return store.NewQueueEntry{From: "", To: []string{e.From}, Data: msg}
}

type reportInfo struct {
	hostname string
	sender   string
	arrival  time.Time
	now      time.Time
	until    time.Time
	rcpts    []reportRcpt
	delayed  bool
	header   []byte
}

// originalHeader is the header section of a message, for the
// text/rfc822-headers part (RFC 6522 §3: the header only, which is
// enough to identify the message and keeps its body private).
func originalHeader(data []byte) []byte {
	h := data
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		h = data[:i+2]
	}
	if len(h) > maxReturnedHeader {
		h = h[:maxReturnedHeader]
		if i := bytes.LastIndex(h, []byte("\r\n")); i >= 0 {
			h = h[:i+2]
		}
	}
	return h
}

// buildReport writes the report message with CRLF line endings.
func buildReport(ri reportInfo) []byte {
	var b bytes.Buffer
	rnd := make([]byte, 12)
	_, _ = rand.Read(rnd)
	boundary := "=_report_" + hex.EncodeToString(rnd)
	utf8 := !isASCII(ri.sender)
	for _, r := range ri.rcpts {
		utf8 = utf8 || !isASCII(r.addr)
	}
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	subject := "Undelivered Mail Returned to Sender"
	if ri.delayed {
		subject = "Delayed Mail (still being retried)"
	}
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", ri.hostname)
	w("To: <%s>", ri.sender)
	w("Subject: %s", subject)
	w("Date: %s", ri.now.Format(time.RFC1123Z))
	w("Message-ID: <%s.report@%s>", hex.EncodeToString(rnd), ri.hostname)
	w("Auto-Submitted: auto-replied") // RFC 3834 §5
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-formatted message; see the parts below.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	w("This is the mail system at %s.", ri.hostname)
	w("")
	if ri.delayed {
		w("Your message could not be delivered yet to the recipients below.")
		w("It is still in the queue, and delivery will be tried until %s.", ri.until.Format(time.RFC1123Z))
		w("You do not need to send it again.")
	} else {
		w("Your message could not be delivered to the recipients below.")
		w("This is final: it will not be tried again.")
	}
	w("")
	for _, r := range ri.rcpts {
		w("<%s>: %s", r.addr, oneLine(r.err.Error()))
	}
	w("")
	w("--%s", boundary)
	// RFC 6533 §6: the global type when an address is not ASCII.
	if utf8 {
		w("Content-Type: message/global-delivery-status")
	} else {
		w("Content-Type: message/delivery-status")
	}
	w("")
	w("Reporting-MTA: dns; %s", ri.hostname)
	w("Arrival-Date: %s", ri.arrival.Format(time.RFC1123Z))
	for _, r := range ri.rcpts {
		w("")
		addrType := "rfc822"
		if !isASCII(r.addr) {
			addrType = "utf-8"
		}
		w("Final-Recipient: %s; %s", addrType, r.addr)
		if ri.delayed {
			w("Action: delayed")
		} else {
			w("Action: failed")
		}
		w("Status: %s", status(r, ri.delayed))
		if r.err.Host != "" {
			w("Remote-MTA: dns; %s", oneLine(r.err.Host))
		}
		if r.err.Code != 0 {
			w("Diagnostic-Code: smtp; %s", oneLine(fmt.Sprintf("%d %s %s", r.err.Code, r.err.Enhanced, r.err.Message)))
		} else {
			w("Diagnostic-Code: X-mailhouse; %s", oneLine(r.err.Message))
		}
		w("Last-Attempt-Date: %s", ri.now.Format(time.RFC1123Z))
		if ri.delayed {
			w("Will-Retry-Until: %s", ri.until.Format(time.RFC1123Z))
		}
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(ri.header)
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// status is the RFC 3464 Status field: the recipient's RFC 3463 code,
// whose class says failed (5) or delayed (4).
func status(r reportRcpt, delayed bool) string {
	s := r.err.Status()
	if delayed && !strings.HasPrefix(s, "4.") {
		return "4.0.0"
	}
	if !delayed && !strings.HasPrefix(s, "5.") {
		return "5.0.0"
	}
	return s
}

// oneLine makes remote text safe for one header line: line breaks and
// control characters become spaces, and it is cut at 900 bytes.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			r = ' '
		}
		b.WriteRune(r)
		if b.Len() > 900 {
			b.WriteString("...")
			break
		}
	}
	return strings.TrimSpace(b.String())
}

// DropReport is the failure report for an entry an administrator drops
// (`mailhouse queue drop`), about its pending recipients; ok is false
// when none is due (null sender, nothing pending).
func DropReport(hostname string, e store.QueueEntry, data []byte, maxAge time.Duration, now time.Time) (store.NewQueueEntry, bool) {
	if e.From == "" {
		return store.NewQueueEntry{}, false
	}
	var rcpts []reportRcpt
	for _, r := range e.Recipients {
		if r.Status == store.RcptPending {
			rcpts = append(rcpts, reportRcpt{addr: r.Address, err: &smtpclient.Error{Enhanced: "5.3.0",
				Message: "removed from the queue by the administrator; last error: " + r.LastError}})
		}
	}
	if len(rcpts) == 0 {
		return store.NewQueueEntry{}, false
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	msg := buildReport(reportInfo{hostname: hostname, sender: e.From, arrival: e.Created, now: now,
		rcpts: rcpts, until: e.Created.Add(maxAge), header: originalHeader(data)})
	return store.NewQueueEntry{To: []string{e.From}, Data: msg}, true
}
