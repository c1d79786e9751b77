#!/usr/bin/env bash
# Side-by-side benchmark: mailhouse against Postfix -> LMTP -> Dovecot on
# this machine, same load generator, same scenarios, alternating which
# server goes first in each round. Prints a table (median and spread of
# the rounds) and keeps logs and raw results in the run folder.
#
#   sudo bash bench/compare.sh [--rounds 3] [--smtp-messages 5000] [--imap-seconds 20]
#                              [--pop3-seconds 15] [--idle-conns 1000] [--keep]
#
# Needs root (Postfix and Dovecot drop privileges themselves), Go, and
# Postfix/Dovecot from Debian (installed by bench/install-peers.sh, which
# does not start the system services). Everything listens on 127.0.0.1
# high ports; only processes started here are stopped here.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3 SMTP_N=5000 IMAP_S=20 POP3_S=15 IDLE_CONNS=1000 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --smtp-messages) SMTP_N=$2; shift 2 ;;
    --imap-seconds) IMAP_S=$2; shift 2 ;;
    --pop3-seconds) POP3_S=$2; shift 2 ;;
    --idle-conns) IDLE_CONNS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: compare.sh [--rounds N] [--smtp-messages N] [--imap-seconds S] [--pop3-seconds S] [--idle-conns N] [--keep]" >&2; exit 2 ;;
  esac
done

export BENCH_DOMAIN=bench.test BENCH_USERS=21 BENCH_PASS=bench-password-1
USERS=(-users "bench%d@$BENCH_DOMAIN" -nusers 20 -pass "$BENCH_PASS" -tls implicit)
SINK=bench21@$BENCH_DOMAIN # SMTP's one mailbox; IMAP and POP3 use bench1..20

bash bench/install-peers.sh
RUN=$(mktemp -d /tmp/mailbench.XXXXXX)
chmod 755 "$RUN"
cleanup() {
  bash bench/mailhouse.sh stop "$RUN/mailhouse" || true
  bash bench/peers.sh stop "$RUN/peer" || true
  if [ "$KEEP" = 1 ]; then echo "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

echo "building into $RUN/bin"
go build -o "$RUN/bin/mailhouse" ./cmd/mailhouse
go build -o "$RUN/bin/mailload" ./bench/cmd/mailload
go build -o "$RUN/bin/benchaccounts" ./bench/cmd/benchaccounts
go build -o "$RUN/bin/benchdns" ./bench/cmd/benchdns
L=$RUN/bin/mailload
# One argon2id hash for both servers' accounts (BENCH_KDF="-m KiB -t N";
# default OWASP's 19 MiB, 2 passes; mailhouse's own default is 64 MiB, 3).
BENCH_HASH=$("$RUN/bin/benchaccounts" hash -pass "$BENCH_PASS" ${BENCH_KDF:-})
export BENCH_HASH
ulimit -n 65536 2>/dev/null || true

bash bench/mailhouse.sh start "$RUN/mailhouse" "$RUN/bin"
bash bench/peers.sh start "$RUN/peer" 2> >(grep -v 'Warning' >&2)
MH_PID=$(bash bench/mailhouse.sh pid "$RUN/mailhouse")
PEER_PID=$(bash bench/peers.sh dovecot-pid "$RUN/peer")
declare -A SMTP=([mailhouse]=127.0.0.1:24025 [peer]=127.0.0.1:25025)
declare -A IMAPS=([mailhouse]=127.0.0.1:24993 [peer]=127.0.0.1:25993)
declare -A POP3S=([mailhouse]=127.0.0.1:24995 [peer]=127.0.0.1:25995)
declare -A PID=([mailhouse]=$MH_PID [peer]=$PEER_PID)
RES=$RUN/results.txt
: >"$RES"

# record SERVER ROUND CMD...: run one scenario, keep its output, append
# its RESULT line tagged with server, round and the load average.
record() {
  local server=$1 round=$2; shift 2
  local out=$RUN/out.$server.$round.$1.txt
  "$L" "$@" >"$out" 2>&1 || { echo "FAILED: $server $*"; cat "$out"; return 1; }
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$(grep '^RESULT' "$out") server=$server round=$round load=$load" | tee -a "$RES"
}

echo "== populating: 20 accounts x 200 messages of 4 KB on each server"
for s in mailhouse peer; do "$L" populate -addr "${IMAPS[$s]}" "${USERS[@]}" -messages 200 -max-time 10m; done

for round in $(seq 1 "$ROUNDS"); do
  order=(mailhouse peer)
  [ $((round % 2)) = 0 ] && order=(peer mailhouse)
  echo "== round $round of $ROUNDS (${order[*]}), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for s in "${order[@]}"; do
    record "$s" "$round" smtp -addr "${SMTP[$s]}" -n "$SMTP_N" -size 4096 -c 20 -to "$SINK" \
      -verify "${IMAPS[$s]}" -pass "$BENCH_PASS" -max-time 10m
  done
  for s in "${order[@]}"; do
    record "$s" "$round" imap -addr "${IMAPS[$s]}" "${USERS[@]}" -c 20 -duration "${IMAP_S}s" -seed "$round" -max-time 10m
  done
  for s in "${order[@]}"; do
    record "$s" "$round" pop3 -addr "${POP3S[$s]}" "${USERS[@]}" -c 4 -duration "${POP3_S}s" -max-time 10m
  done
done

if [ "$IDLE_CONNS" -gt 0 ]; then
  echo "== $IDLE_CONNS idle IMAP connections (logged in, INBOX selected, IDLE)"
  for s in mailhouse peer; do
    record "$s" 1 idle -addr "${IMAPS[$s]}" "${USERS[@]}" -c "$IDLE_CONNS" -pid "${PID[$s]}" -settle 10s -max-time 20m
  done
fi

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr);" \
  "peers: Postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null), Dovecot $(dovecot --version | cut -d' ' -f1)"
"$L" table "$RES"
