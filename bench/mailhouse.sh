#!/usr/bin/env bash
# A private mailhouse instance for the benchmark on loopback high ports,
# config and data under DIR, started and stopped by its pid file.
#
#   bench/mailhouse.sh start DIR BINDIR   # BINDIR: mailhouse, benchaccounts, benchdns binaries
#   bench/mailhouse.sh stop DIR
#
# Inbound SMTP runs mailhouse's SPF/DMARC checks: [dns] resolver points
# at benchdns on loopback, which answers for the load generator's domain
# (a stand-in for the local caching resolver of a production MX).
#
# Environment (defaults in brackets): BENCH_DOMAIN [bench.test],
# BENCH_USERS [20] accounts bench1..benchN, BENCH_HASH (required: the
# argon2id hash of their password, made by `benchaccounts hash`; the same
# one is given to Dovecot), MH_SMTP [24025], MH_IMAPS [24993],
# MH_POP3S [24995], MH_DNS [24053].
set -euo pipefail

DOMAIN=${BENCH_DOMAIN:-bench.test}
NUSERS=${BENCH_USERS:-20}
HASH=${BENCH_HASH:-}
SMTP_PORT=${MH_SMTP:-24025}
IMAPS_PORT=${MH_IMAPS:-24993}
POP3S_PORT=${MH_POP3S:-24995}
DNS_PORT=${MH_DNS:-24053}

die() { echo "mailhouse.sh: $*" >&2; exit 1; }

start() {
  local d=$1 bin=$2/mailhouse accounts=$2/benchaccounts dnsd=$2/benchdns
  for b in "$bin" "$accounts" "$dnsd"; do [ -x "$b" ] || die "$b is not an executable"; done
  [ -n "$HASH" ] || die "set BENCH_HASH to the password hash made by benchaccounts hash"
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  "$bin" init --domain "$DOMAIN" --hostname "mail.$DOMAIN" --dir "$d" >"$d/init.log" 2>&1 || die "init: $(cat "$d/init.log")"
  # Keep init's first lines (hostname, data_dir, [tls]); replace [listen]
  # with loopback high ports and raise the per-IP/per-account connection
  # limits: every benchmark connection comes from 127.0.0.1.
  sed -n '/^\[listen\]/q;p' "$d/mailhouse.toml" >"$d/mailhouse.toml.new"
  cat >>"$d/mailhouse.toml.new" <<CONF
[listen]
smtp        = ["127.0.0.1:$SMTP_PORT"]
submission  = []
submissions = []
imap        = []
imaps       = ["127.0.0.1:$IMAPS_PORT"]
pop3        = []
pop3s       = ["127.0.0.1:$POP3S_PORT"]
http        = []
https       = []

[imap]
max_conns_per_account = 2000

[limits]
max_conns_per_ip = 5000
max_conns        = 5000

[dns]
resolver = "127.0.0.1:$DNS_PORT"

[log]
level = "info"
CONF
  mv "$d/mailhouse.toml.new" "$d/mailhouse.toml"
  "$accounts" add -db "$d/data/mailhouse.db" -hash "$HASH" -users "bench%d@$DOMAIN" -n "$NUSERS" ||
    die "could not add the accounts"
  "$dnsd" -addr "127.0.0.1:$DNS_PORT" </dev/null >"$d/benchdns.log" 2>&1 &
  echo $! >"$d/benchdns.pid"
  ulimit -n 65536 2>/dev/null || true
  "$bin" serve --config "$d/mailhouse.toml" </dev/null >"$d/mailhouse.log" 2>&1 &
  echo $! >"$d/mailhouse.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$SMTP_PORT") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$IMAPS_PORT") 2>/dev/null; then
      echo "mailhouse: SMTP 127.0.0.1:$SMTP_PORT, IMAPS :$IMAPS_PORT, POP3S :$POP3S_PORT, pid $(cat "$d/mailhouse.pid") ($d)"
      return 0
    fi
    kill -0 "$(cat "$d/mailhouse.pid")" 2>/dev/null || die "serve exited: $(tail -5 "$d/mailhouse.log")"
    sleep 0.1
  done
  die "mailhouse did not start listening"
}

stop() {
  local d=$1 f pid
  for f in "$d/mailhouse.pid" "$d/benchdns.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

case "${1:-}" in
  start) [ $# -eq 3 ] || die "usage: mailhouse.sh start DIR BINDIR"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: mailhouse.sh stop DIR"; stop "$2" ;;
  pid) cat "$2/mailhouse.pid" ;;
  *) die "usage: mailhouse.sh start|stop|pid DIR [BINARY]" ;;
esac
