package importer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(step); return t }
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{w: &b, label: "importing", tty: true, width: 120, interval: 0, now: fakeClock(time.Second)}
	p.start = p.now()
	p.AddTotal(200, 200<<10)
	p.Folder("INBOX")
	p.Done(50, 50<<10)
	p.Done(50, 50<<10)
	p.Finish()
	out := b.String()
	last := out[strings.LastIndex(out, "\r\x1b[K")+4:]
	for _, want := range []string{"importing [", "====", ">", "50%", "100/200 msgs", "100.0 KiB/200.0 KiB", "msg/s", "ETA 0:0", "INBOX"} {
		if !strings.Contains(last, want) {
			t.Errorf("bar %q lacks %q", last, want)
		}
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\r\x1b[K") < 3 {
		t.Errorf("redraws: %q", out)
	}
	if len(strings.TrimSuffix(last, "\n")) >= 120 {
		t.Errorf("wider than the terminal: %d", len(last))
	}
}

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{w: &b, label: "import", width: 100, interval: 5 * time.Second, now: fakeClock(time.Second)}
	p.start = p.now()
	p.AddTotal(10, 0)
	for range 10 {
		p.Done(1, 100)
	}
	p.Finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// One line at the start, one every 5 s (a second per reading), the final one.
	if len(lines) < 2 || len(lines) > 5 {
		t.Errorf("%d lines: %q", len(lines), lines)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "100%, 10/10 messages") || strings.ContainsAny(last, "\r\x1b") {
		t.Errorf("last line %q", last)
	}
	var nilP *Progress
	nilP.AddTotal(1, 1)
	nilP.Done(1, 1)
	nilP.Folder("x")
	nilP.Finish()
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0:00", 61 * time.Second: "1:01", 3723 * time.Second: "1:02:03"} {
		if got := clock(d); got != want {
			t.Errorf("%v: %s", d, got)
		}
	}
}
