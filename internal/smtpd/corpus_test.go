package smtpd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailhouse/internal/smtpd"
	"mailhouse/internal/testutil"
)

// corpusSender keeps one connection to port 25 open across messages and
// reconnects when the server closed it (after a refusal that ends the
// session).
type corpusSender struct {
	t    *testing.T
	addr string
	c    *rawClient
}

// send delivers one message (DATA content, dot-stuffed, end marker
// included) to alice and returns the reply.
func (s *corpusSender) send(data []byte) string {
	if s.c == nil {
		s.c = dialRaw(s.t, s.addr)
		s.c.cmd("EHLO client.example", "250 ")
	}
	c := s.c
	c.cmd("MAIL FROM:<sender@other.test>", "250 ")
	c.cmd("RCPT TO:<alice@example.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(string(data))
	r, err := c.reply()
	if err != nil || strings.HasPrefix(r, "500 ") || strings.HasPrefix(r, "421 ") || strings.Contains(r, "bare CR") {
		c.conn.Close()
		s.c = nil
	}
	return strings.TrimSpace(r)
}

// toCRLF gives every line a CRLF ending, as a client does before DATA.
func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// rawStuff sends bytes as they are: a dot is doubled where the server
// sees a line start (after CRLF, RFC 5321 §4.5.2), and the end marker is
// CRLF.CRLF whatever the data ends with.
func rawStuff(b []byte) []byte {
	var out bytes.Buffer
	if len(b) > 0 && b[0] == '.' {
		out.WriteByte('.')
	}
	out.Write(bytes.ReplaceAll(b, []byte("\r\n."), []byte("\r\n..")))
	out.WriteString("\r\n.\r\n")
	return out.Bytes()
}

// longestLine is the longest line in bytes, line ending included.
func longestLine(b []byte) int {
	max := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b) - 1
		}
		if i+1 > max {
			max = i + 1
		}
		b = b[i+1:]
	}
	return max
}

// Every corpus message, sent as a client sends it (CRLF) and as the raw
// file bytes, is either stored exactly or refused with the reply its
// defect calls for; none crashes or hangs the server.
func TestCorpusOverSMTP(t *testing.T) {
	files := testutil.CorpusFiles(t)
	ts := startServer(t, func(o *smtpd.Options) { o.Config.MaxErrors = 1 << 20 }, "alice")
	s := &corpusSender{t: t, addr: ts.mx}
	stored := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		long := longestLine(toCRLF(raw)) > smtpd.DefaultMaxLineLength-8
		hasNUL := bytes.IndexByte(raw, 0) >= 0

		// As a client sends it.
		data := toCRLF(raw)
		if !bytes.HasSuffix(data, []byte("\r\n")) {
			data = append(data, "\r\n"...)
		}
		r := s.send(dotStuff(data))
		switch {
		case strings.HasPrefix(r, "250 "):
			if long || hasNUL {
				t.Errorf("%s: accepted despite long lines or NUL", name)
			}
			stored++
			got := ts.wantInbox(t, alice, stored)
			if !bytes.HasSuffix(got, data) {
				t.Errorf("%s: stored copy differs from what was sent", name)
			}
		case strings.HasPrefix(r, "554 5.6.0") && hasNUL:
		case strings.HasPrefix(r, "500 5.5.2") && long:
		default:
			t.Errorf("%s (CRLF): unexpected reply %q (long=%v nul=%v)", name, r, long, hasNUL)
		}

		// The file's own bytes; line endings other than CRLF are refused.
		clean := bytes.Equal(raw, toCRLF(raw))
		if bytes.HasSuffix(raw, []byte("\r")) {
			continue // go-smtp would wait for the DATA time-out (see TestBadBytesAndSmuggling)
		}
		r = s.send(rawStuff(raw))
		switch {
		case strings.HasPrefix(r, "250 "):
			if !clean || long || hasNUL {
				t.Errorf("%s (raw): accepted with bad line endings, long lines or NUL", name)
			}
			stored++
			if got := ts.wantInbox(t, alice, stored); !bytes.HasSuffix(got, append(raw, "\r\n"...)) {
				t.Errorf("%s (raw): stored copy differs from what was sent", name)
			}
		case strings.HasPrefix(r, "554 5.6.0") && (!clean || hasNUL):
		case strings.HasPrefix(r, "500 5.5.2") && long:
		default:
			t.Errorf("%s (raw): unexpected reply %q (clean=%v long=%v nul=%v)", name, r, clean, long, hasNUL)
		}
	}
	t.Logf("%d corpus messages, %d deliveries stored", len(files), stored)
}
