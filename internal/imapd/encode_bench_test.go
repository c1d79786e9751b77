package imapd

import (
	"os"
	"testing"

	"mailhouse/internal/message"
	"mailhouse/internal/testutil"
)

// BenchmarkEncodeStructure: ENVELOPE and BODYSTRUCTURE of the MIME
// corpus's messages encoded from their stored structures (no store, no
// network): the CPU cost of FETCH's encoding alone.
func BenchmarkEncodeStructure(b *testing.B) {
	files := testutil.CorpusFiles(b)
	var sts []*message.Structure
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil || len(raw) > 1<<20 {
			continue
		}
		sts = append(sts, message.Parse(raw))
	}
	enc := encoder{}
	var buf []byte
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		st := sts[i%len(sts)]
		buf = enc.envelope(buf[:0], &st.Envelope)
		buf = enc.body(buf, &st.Root, true, 0)
	}
}
