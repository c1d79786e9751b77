package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
)

// journalHandler writes log lines for systemd's journal: each line
// starts with its syslog priority (<3> error, <4> warning, <6> info,
// <7> debug, sd-daemon(3)) so `journalctl -p err` works, and carries no
// time (the journal stamps lines itself).
type journalHandler struct {
	mu    *sync.Mutex
	out   io.Writer
	buf   *bytes.Buffer
	inner slog.Handler // writes into buf
}

func newJournalHandler(w io.Writer, o *slog.HandlerOptions) slog.Handler {
	buf := &bytes.Buffer{}
	opts := *o
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	return &journalHandler{mu: &sync.Mutex{}, out: w, buf: buf, inner: slog.NewTextHandler(buf, &opts)}
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	prio := "<6>"
	switch {
	case r.Level >= slog.LevelError:
		prio = "<3>"
	case r.Level >= slog.LevelWarn:
		prio = "<4>"
	case r.Level < slog.LevelInfo:
		prio = "<7>"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	h.buf.WriteString(prio)
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.Write(h.buf.Bytes())
	return err
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{mu: h.mu, out: h.out, buf: h.buf, inner: h.inner.WithAttrs(as)}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{mu: h.mu, out: h.out, buf: h.buf, inner: h.inner.WithGroup(name)}
}
