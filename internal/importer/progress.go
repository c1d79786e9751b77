package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress shows how a long import or export goes: on a terminal, one
// line redrawn in place with a bar, counts, rate and ETA; otherwise
// (a log file, the journal) a plain line every few seconds. Its methods
// may be called on a nil *Progress, which shows nothing.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	tty      bool
	width    int
	interval time.Duration // between redraws (terminal) or lines (plain)
	now      func() time.Time

	totalMsgs  int
	totalBytes int64
	msgs       int
	bytes      int64
	folder     string
	start      time.Time
	last       time.Time
	drawn      bool
}

// NewProgress reports to w (usually standard error), as a bar when w is a
// terminal.
func NewProgress(w io.Writer, label string) *Progress {
	p := &Progress{w: w, label: label, width: 100, interval: 5 * time.Second, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.interval = 100 * time.Millisecond
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	p.start = p.now()
	return p
}

// AddTotal grows the expected totals (sources are scanned folder by
// folder).
func (p *Progress) AddTotal(msgs int, bytes int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.totalMsgs += msgs
	p.totalBytes += bytes
}

// Folder names the folder being worked on.
func (p *Progress) Folder(name string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.folder = name
	p.maybeDraw(false)
}

// Done counts finished messages (imported, skipped or failed alike).
func (p *Progress) Done(msgs int, bytes int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs += msgs
	p.bytes += bytes
	p.maybeDraw(false)
}

// Finish draws the final state and ends the line.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maybeDraw(true)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) maybeDraw(force bool) {
	now := p.now()
	if !force && p.drawn && now.Sub(p.last) < p.interval {
		return
	}
	p.last, p.drawn = now, true
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K"+p.barLine(now))
	} else {
		fmt.Fprintln(p.w, p.plainLine(now))
	}
}

// fraction is how far along the work is, by bytes when their total is
// known (a message count hides a few huge messages), else by messages;
// ok is false when there is no total.
func (p *Progress) fraction() (float64, bool) {
	switch {
	case p.totalBytes > 0:
		return min(1, float64(p.bytes)/float64(p.totalBytes)), true
	case p.totalMsgs > 0:
		return min(1, float64(p.msgs)/float64(p.totalMsgs)), true
	}
	return 0, false
}

// rates are messages and bytes per second since the start.
func (p *Progress) rates(now time.Time) (float64, float64) {
	el := now.Sub(p.start).Seconds()
	if el <= 0 {
		return 0, 0
	}
	return float64(p.msgs) / el, float64(p.bytes) / el
}

// eta is the time left at the average rate so far; ok is false when it
// cannot be told yet.
func (p *Progress) eta(now time.Time) (time.Duration, bool) {
	f, ok := p.fraction()
	el := now.Sub(p.start)
	if !ok || f <= 0 || el <= 0 {
		return 0, false
	}
	return time.Duration(float64(el) * (1 - f) / f), true
}

func (p *Progress) counts() string {
	s := fmt.Sprintf("%d", p.msgs)
	if p.totalMsgs > 0 {
		s += fmt.Sprintf("/%d", p.totalMsgs)
	}
	s += " msgs  " + humanBytes(p.bytes)
	if p.totalBytes > 0 {
		s += "/" + humanBytes(p.totalBytes)
	}
	return s
}

func (p *Progress) barLine(now time.Time) string {
	mr, br := p.rates(now)
	tail := fmt.Sprintf("%s  %.0f msg/s %s/s", p.counts(), mr, humanBytes(int64(br)))
	if d, ok := p.eta(now); ok {
		tail += "  ETA " + clock(d)
	}
	if p.folder != "" {
		tail += "  " + p.folder
	}
	head := p.label + " "
	f, ok := p.fraction()
	pct := "   ?%"
	if ok {
		pct = fmt.Sprintf("%4.0f%%", f*100)
	}
	// The bar takes what the terminal width leaves, between 10 and 40.
	barW := min(40, p.width-len(head)-len(pct)-len(tail)-6)
	line := head
	if barW >= 10 {
		fill := int(f * float64(barW))
		bar := strings.Repeat("=", fill)
		if fill < barW {
			bar += ">" + strings.Repeat(" ", barW-fill-1)
		}
		line += "[" + bar + "] "
	}
	line += pct + "  " + tail
	if len(line) > p.width-1 {
		line = line[:p.width-1]
	}
	return line
}

func (p *Progress) plainLine(now time.Time) string {
	mr, br := p.rates(now)
	s := p.label + ": "
	if f, ok := p.fraction(); ok {
		s += fmt.Sprintf("%.0f%%, ", f*100)
	}
	s += strings.Replace(p.counts(), "msgs  ", "messages, ", 1)
	s += fmt.Sprintf(", %.0f messages/s, %s/s", mr, humanBytes(int64(br)))
	if d, ok := p.eta(now); ok {
		s += ", ETA " + clock(d)
	}
	if p.folder != "" {
		s += ", folder " + p.folder
	}
	return s
}

// clock writes a duration as h:mm:ss or m:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
