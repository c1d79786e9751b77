// Command benchdns is the load generator's DNS: a tiny authoritative
// server on loopback answering for the sender domain of bench/load's
// messages (loadgen.test: SPF allowing 127.0.0.0/8, DMARC p=none) and
// NXDOMAIN for everything else. It stands in for the local caching
// resolver a production MX queries, so inbound SPF/DMARC checks cost
// what a cached answer costs instead of waiting on an unreachable
// network. It runs until SIGTERM or SIGINT.
//
//	benchdns -addr 127.0.0.1:24053 [-record 'name. 300 IN TXT "..."']...
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailhouse/bench/load"
)

type records []string

func (r *records) String() string     { return strings.Join(*r, "; ") }
func (r *records) Set(s string) error { *r = append(*r, s); return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:24053", "UDP and TCP address to serve on (loopback)")
	var extra records
	flag.Var(&extra, "record", "an extra zone-file line (fully qualified name); repeatable")
	flag.Parse()
	s, err := load.StartDNS(*addr, append(load.SenderRecords, extra...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdns:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Close()
}
