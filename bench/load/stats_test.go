package load

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// TestRecorderBounded: past maxSamples the recorder keeps a bounded
// reservoir and still counts every observation.
func TestRecorderBounded(t *testing.T) {
	r := NewRecorder()
	n := maxSamples + 1000
	for i := range n {
		r.Observe("op", time.Duration(i%100)*time.Millisecond)
	}
	if got := len(r.ops["op"].samples); got != maxSamples {
		t.Fatalf("kept %d samples", got)
	}
	ops, total := r.Summary(time.Second)
	if ops[0].Count != int64(n) || total.Count != int64(n) {
		t.Fatalf("count %d", ops[0].Count)
	}
	if p := ops[0].P50; p < 40*time.Millisecond || p > 60*time.Millisecond {
		t.Fatalf("p50 %v", p)
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("select=1,fetch_body=3")
	if err != nil || m[OpSelect] != 1 || m[OpFetchBody] != 3 || len(m) != 2 {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"nope=1", "select", "select=-1", "select=x"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := (Mix{OpSelect: 0}).picker(); err == nil {
		t.Error("all-zero mix accepted")
	}
	m2, _ := ParseMix(DefaultMix.String())
	if m2.String() != DefaultMix.String() {
		t.Errorf("round trip: %s", m2)
	}
}

func TestTable(t *testing.T) {
	in := `noise
RESULT scenario=smtp e2e_per_sec=100 accept_per_sec=200 p50_ms=1 p99_ms=10 server=mailhouse round=1 load=3.0
RESULT scenario=smtp e2e_per_sec=10 accept_per_sec=20 p50_ms=2 p99_ms=20 server=peer round=1 load=4.0
RESULT scenario=smtp e2e_per_sec=300 accept_per_sec=200 p50_ms=1 p99_ms=10 server=mailhouse round=2 load=5.0
RESULT scenario=smtp e2e_per_sec=20 accept_per_sec=20 p50_ms=2 p99_ms=20 server=peer round=2 load=6.0
`
	rs, err := ParseResults(strings.NewReader(in))
	if err != nil || len(rs) != 4 {
		t.Fatal(len(rs), err)
	}
	var b strings.Builder
	Table(&b, rs)
	// Medians 200 vs 15, per-round ratios 10× and 15×.
	if !strings.Contains(b.String(), "| 200.0 (100.0–300.0) | 15.0 (10.0–20.0) | 12.50× (10.00×–15.00×) | higher |") {
		t.Fatalf("table:\n%s", b.String())
	}
	if _, err := ParseResults(strings.NewReader("RESULT scenario=x novalue\n")); err == nil {
		t.Fatal("bad field accepted")
	}
}

func TestMessage(t *testing.T) {
	m := Message("a@b.test", "c@d.test", 4096, 1, 2)
	if len(m) < 4096 || len(m) > 4096+80 {
		t.Fatalf("size %d", len(m))
	}
	for _, l := range strings.Split(string(m), "\r\n") {
		if strings.HasPrefix(l, ".") || len(l) > 998 || strings.Contains(l, "\n") {
			t.Fatalf("bad line %q", l)
		}
	}
	if !strings.HasSuffix(string(m), "\r\n") {
		t.Fatal("no final CRLF")
	}
}
