package message

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailhouse/internal/testutil"
)

// parseDeadline bounds the time one corpus message may take: Parse,
// Marshal, Unmarshal and Text together. The largest message (570 kB) takes a
// few milliseconds; the bound is generous for slow, shared CI machines.
const parseDeadline = 5 * time.Second

// TestCorpus parses every message of the shared corpus, as stored (bare LF,
// mixed endings) and converted to CRLF as the server stores it, and checks
// that nothing panics or hangs and that the structure is consistent.
func TestCorpus(t *testing.T) {
	files := testutil.CorpusFiles(t)
	if len(files) < 385 {
		t.Errorf("corpus has %d messages, want at least 385", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, form := range []struct {
			name string
			msg  []byte
		}{{"raw", raw}, {"crlf", ToCRLF(raw)}} {
			done := make(chan string, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- "panic: " + toString(r)
					}
				}()
				done <- checkMessage(form.msg)
			}()
			select {
			case problem := <-done:
				if problem != "" {
					t.Errorf("%s (%s): %s", name, form.name, problem)
				}
			case <-time.After(parseDeadline):
				t.Fatalf("%s (%s): not done after %v", name, form.name, parseDeadline)
			}
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return "non-string panic value"
}

// checkMessage parses msg and returns a description of the first broken
// invariant, or "".
func checkMessage(msg []byte) string {
	s := Parse(msg)
	if p := invariantProblem(msg, s); p != "" {
		return p
	}
	enc := s.Marshal()
	back, err := Unmarshal(enc)
	if err != nil {
		return "Unmarshal: " + err.Error()
	}
	if !equalStructures(s, back) {
		return "Marshal/Unmarshal round trip differs"
	}
	for _, limit := range []int{1, 100, 1 << 20} {
		txt := Text(msg, s, limit)
		if !utf8.ValidString(txt) {
			return "Text is not valid UTF-8"
		}
		if len(txt) > limit {
			return "Text longer than its limit"
		}
	}
	return ""
}

// equalStructures compares two structures; dates are compared as instants
// with their zone offsets.
func equalStructures(a, b *Structure) bool {
	_, oa := a.Date.Zone()
	_, ob := b.Date.Zone()
	if !a.Date.Equal(b.Date) || oa != ob || a.Date.IsZero() != b.Date.IsZero() {
		return false
	}
	x, y := *a, *b
	x.Date, y.Date = time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

// checkInvariants fails the test when s is inconsistent with msg.
func checkInvariants(t *testing.T, msg []byte, s *Structure) {
	t.Helper()
	if p := invariantProblem(msg, s); p != "" {
		t.Error(p)
	}
}

func invariantProblem(msg []byte, s *Structure) string {
	if s.Root.HeaderStart != 0 || s.Root.End != int64(len(msg)) {
		return "root does not span the message"
	}
	if s.HeaderSize != s.Root.BodyStart {
		return "HeaderSize differs from the root's body offset"
	}
	if !validEnvelope(&s.Envelope) {
		return "top-level envelope has invalid UTF-8 or a host-less mailbox"
	}
	count := 0
	if p := partProblem(msg, &s.Root, 0, &count); p != "" {
		return p
	}
	if count > MaxParts {
		return "more than MaxParts parts"
	}
	problem := ""
	s.Walk(func(path []int, p *Part) bool {
		if path == nil {
			return true
		}
		q, ok := s.PartAt(path)
		if !ok || q != p {
			problem = "PartAt disagrees with Walk at " + formatPath(path)
			return false
		}
		return true
	})
	return problem
}

func partProblem(msg []byte, p *Part, depth int, count *int) string {
	*count++
	where := p.Type + "/" + p.Subtype
	switch {
	case !(0 <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= int64(len(msg))):
		return where + ": offsets out of order or out of bounds"
	case depth > MaxDepth+1:
		return "nesting deeper than MaxDepth"
	case p.Type == "" || p.Subtype == "" || p.Type != strings.ToLower(p.Type) || p.Subtype != strings.ToLower(p.Subtype):
		return "type not lower-case: " + where
	case p.Encoding == "" || p.Encoding != strings.ToUpper(p.Encoding):
		return where + ": encoding not upper-case: " + p.Encoding
	case p.Type == "multipart" && len(p.Parts) == 0:
		return "multipart without parts"
	case p.Envelope != nil && (len(p.Parts) != 1 || !isMessageType(p.Type, p.Subtype)):
		return where + ": envelope without one enclosed message"
	case p.Type != "multipart" && len(p.Parts) > 0 && p.Envelope == nil:
		return where + ": leaf with children"
	}
	if p.Type == "text" || isMessageType(p.Type, p.Subtype) {
		if n := int64(bytes.Count(p.Body(msg), []byte("\n"))); n != p.Lines {
			return where + ": Lines is not the number of body lines"
		}
	}
	for _, kv := range append(append([][2]string{}, p.Params...), p.DispositionParams...) {
		if kv[0] != "boundary" && !utf8.ValidString(kv[1]) {
			return where + ": parameter value is not UTF-8"
		}
	}
	if p.Envelope != nil {
		if !validEnvelope(p.Envelope) {
			return where + ": enclosed envelope has invalid UTF-8 or a host-less mailbox"
		}
		c := &p.Parts[0]
		if c.HeaderStart != p.BodyStart || c.End != p.End {
			return where + ": enclosed message does not span the body"
		}
	}
	prevEnd := p.BodyStart
	for i := range p.Parts {
		c := &p.Parts[i]
		if c.HeaderStart < prevEnd || c.End > p.End {
			return where + ": child outside its parent or overlapping its sibling"
		}
		prevEnd = c.End
		if q := partProblem(msg, c, depth+1, count); q != "" {
			return q
		}
	}
	return ""
}

func validEnvelope(e *Envelope) bool {
	if !utf8.ValidString(e.SubjectDecoded) {
		return false
	}
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		if !validAddresses(l) {
			return false
		}
	}
	return true
}

// validAddresses checks that names and addresses are UTF-8, every mailbox
// has a local part and a host, and groups are balanced and not nested.
func validAddresses(l []Address) bool {
	inGroup := false
	for _, a := range l {
		if !utf8.ValidString(a.Name) || !utf8.ValidString(a.Mailbox) || !utf8.ValidString(a.Host) {
			return false
		}
		switch {
		case a.IsGroupStart():
			if inGroup {
				return false
			}
			inGroup = true
		case a.IsGroupEnd():
			if !inGroup {
				return false
			}
			inGroup = false
		case a.Mailbox == "":
			return false
		}
	}
	return !inGroup
}
