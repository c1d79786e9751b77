package load

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ParseResults reads RESULT lines (other lines are skipped) as written
// by compare.sh: the scenario's fields plus server=, round= and load=.
func ParseResults(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "RESULT ") {
			continue
		}
		var res Result
		for _, f := range strings.Fields(line[len("RESULT "):]) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("bad field %q in %q", f, line)
			}
			if k == "scenario" {
				res.Scenario = v
				continue
			}
			res.Fields = append(res.Fields, Field{k, v})
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// metric is one row of the comparison table.
type metric struct {
	scenario, key, label string
	higherBetter         bool
}

var tableMetrics = []metric{
	{"smtp", "e2e_per_sec", "SMTP end to end (accepted, fsynced, visible in IMAP), msg/s", true},
	{"smtp", "accept_per_sec", "SMTP accepted, msg/s", true},
	{"smtp", "p50_ms", "SMTP transaction p50, ms", false},
	{"smtp", "p99_ms", "SMTP transaction p99, ms", false},
	{"imap", "ops_per_sec", "IMAP mixed load, ops/s", true},
	{"imap", "p50_ms", "IMAP op p50, ms", false},
	{"imap", "p99_ms", "IMAP op p99, ms", false},
	{"pop3", "msgs_per_sec", "POP3 full download, msg/s", true},
	{"pop3", "sessions_per_sec", "POP3 sessions/s (login, UIDL, RETR all)", true},
	{"pop3", "retr_p50_ms", "POP3 RETR p50, ms", false},
	{"pop3", "retr_p99_ms", "POP3 RETR p99, ms", false},
	{"idle", "pss_mib", "1,000 idle IMAP connections: PSS, MiB", false},
	{"idle", "rss_mib", "1,000 idle IMAP connections: RSS sum, MiB", false},
	{"idle", "pss_before_mib", "idle server after the other scenarios (settled): PSS, MiB", false},
	{"idle", "pss_growth_mib", "1,000 idle IMAP connections: PSS growth over the idle server, MiB", false},
	{"idle", "pss_per_conn_kib", "idle IMAP connection: PSS growth per connection, KiB", false},
}

// Table writes the comparison of server "mailhouse" with server "peer"
// as a Markdown table: per metric the median over rounds with the range,
// and the ratio mailhouse/peer (median and range of the per-round
// ratios).
func Table(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| scenario | mailhouse | Postfix+Dovecot | ratio mailhouse/peer | better |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | --- |")
	for _, m := range tableMetrics {
		byRound := map[string]map[string]float64{} // round -> server -> value
		var mh, peer, ratios []float64
		for _, r := range results {
			if r.Scenario != m.scenario {
				continue
			}
			v, err := strconv.ParseFloat(r.Get(m.key), 64)
			if err != nil {
				continue
			}
			rd := r.Get("round")
			if byRound[rd] == nil {
				byRound[rd] = map[string]float64{}
			}
			byRound[rd][r.Get("server")] = v
			switch r.Get("server") {
			case "mailhouse":
				mh = append(mh, v)
			case "peer":
				peer = append(peer, v)
			}
		}
		if len(mh) == 0 && len(peer) == 0 {
			continue
		}
		for _, sv := range byRound {
			a, okA := sv["mailhouse"]
			b, okB := sv["peer"]
			if okA && okB && b != 0 {
				ratios = append(ratios, a/b)
			}
		}
		better := "lower"
		if m.higherBetter {
			better = "higher"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", m.label, spread(mh, "%.1f"), spread(peer, "%.1f"), spread(ratios, "%.2f×"), better)
	}
	var loads []float64
	for _, r := range results {
		if v, err := strconv.ParseFloat(r.Get("load"), 64); err == nil {
			loads = append(loads, v)
		}
	}
	if len(loads) > 0 {
		fmt.Fprintf(w, "\nLoad average (1 min) after each scenario: %s; %d results.\n", spread(loads, "%.1f"), len(results))
	}
}

// spread formats the median of vs and, with several values, their range.
func spread(vs []float64, format string) string {
	if len(vs) == 0 {
		return "–"
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	var med float64
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	out := fmt.Sprintf(format, med)
	if len(s) > 1 {
		out += " (" + fmt.Sprintf(format, s[0]) + "–" + fmt.Sprintf(format, s[len(s)-1]) + ")"
	}
	return out
}
