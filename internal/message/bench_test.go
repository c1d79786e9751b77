package message

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"os"
	"testing"

	"mailhouse/internal/testutil"
)

// benchCorpus returns every corpus message, with CRLF line endings as
// stored, and the total size.
func benchCorpus(b *testing.B) ([][]byte, int64) {
	b.Helper()
	var msgs [][]byte
	var total int64
	for _, f := range testutil.CorpusFiles(b) {
		m, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		m = ToCRLF(m)
		msgs = append(msgs, m)
		total += int64(len(m))
	}
	return msgs, total
}

// BenchmarkParse parses the whole corpus once per iteration.
func BenchmarkParse(b *testing.B) {
	msgs, total := benchCorpus(b)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			Parse(m)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}

func benchStructures(b *testing.B) ([]*Structure, [][]byte) {
	msgs, _ := benchCorpus(b)
	var ss []*Structure
	var enc [][]byte
	for _, m := range msgs {
		s := Parse(m)
		ss = append(ss, s)
		enc = append(enc, s.Marshal())
	}
	return ss, enc
}

func BenchmarkMarshal(b *testing.B) {
	ss, enc := benchStructures(b)
	size := 0
	for _, e := range enc {
		size += len(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range ss {
			s.Marshal()
		}
	}
	b.ReportMetric(float64(size)/float64(len(enc)), "bytes/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ss)), "ns/msg")
}

func BenchmarkUnmarshal(b *testing.B) {
	_, enc := benchStructures(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range enc {
			if _, err := Unmarshal(e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(enc)), "ns/msg")
}

// BenchmarkUnmarshalJSON and BenchmarkUnmarshalGob measure the encodings
// the hand-written one replaces.
func BenchmarkUnmarshalJSON(b *testing.B) {
	ss, _ := benchStructures(b)
	var enc [][]byte
	size := 0
	for _, s := range ss {
		j, err := json.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		enc = append(enc, j)
		size += len(j)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range enc {
			var s Structure
			if err := json.Unmarshal(e, &s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(size)/float64(len(enc)), "bytes/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(enc)), "ns/msg")
}

func BenchmarkUnmarshalGob(b *testing.B) {
	ss, _ := benchStructures(b)
	var enc [][]byte
	size := 0
	for _, s := range ss {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(s); err != nil {
			b.Fatal(err)
		}
		enc = append(enc, buf.Bytes())
		size += buf.Len()
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range enc {
			var s Structure
			if err := gob.NewDecoder(bytes.NewReader(e)).Decode(&s); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(size)/float64(len(enc)), "bytes/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(enc)), "ns/msg")
}

// BenchmarkText extracts a 200-byte preview from every corpus message.
func BenchmarkText(b *testing.B) {
	msgs, _ := benchCorpus(b)
	var ss []*Structure
	for _, m := range msgs {
		ss = append(ss, Parse(m))
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, m := range msgs {
			Text(m, ss[i], 200)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
}
