package app

import (
	"bytes"
	"strings"
	"testing"

	"mailhouse/internal/config"
)

func TestJournalLogLines(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "8:12345")
	var buf bytes.Buffer
	cfg := &config.Config{Log: config.Log{Level: "debug", Format: "text"}}
	l := NewLogger(cfg, &buf).With("service", "imap")
	l.Error("disk full", "path", "/var/lib/mailhouse")
	l.Warn("slow")
	l.Info("listening")
	l.Debug("detail")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"<3>level=ERROR msg=\"disk full\" service=imap path=/var/lib/mailhouse", "<4>level=WARN msg=slow service=imap", "<6>level=INFO msg=listening service=imap", "<7>level=DEBUG msg=detail service=imap"}
	if len(lines) != len(want) {
		t.Fatalf("got %q", lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, lines[i], want[i])
		}
	}
}
