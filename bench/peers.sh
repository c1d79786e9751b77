#!/usr/bin/env bash
# Private Postfix + Dovecot instances for the benchmark, on loopback high
# ports, with their own config, spool, mail and logs under DIR. They are
# never the system services: started and stopped by pid files in DIR.
#
#   bench/peers.sh start DIR     # Postfix smtpd :$PEER_SMTP -> LMTP :$PEER_LMTP -> Dovecot (Maildir)
#   bench/peers.sh stop DIR
#
# Environment (defaults in brackets): BENCH_DOMAIN [bench.test],
# BENCH_USERS [20] accounts bench1..benchN, BENCH_HASH (required: their
# password's argon2id hash in PHC form, p=1, the same one mailhouse gets),
# PEER_SMTP [25025], PEER_IMAPS [25993], PEER_POP3S [25995], PEER_LMTP [25024].
# Needs root (Postfix's master and Dovecot's drop privileges themselves)
# and bench/install-peers.sh run once.
set -euo pipefail

DOMAIN=${BENCH_DOMAIN:-bench.test}
NUSERS=${BENCH_USERS:-20}
HASH=${BENCH_HASH:-}
SMTP_PORT=${PEER_SMTP:-25025}
IMAPS_PORT=${PEER_IMAPS:-25993}
POP3S_PORT=${PEER_POP3S:-25995}
LMTP_PORT=${PEER_LMTP:-25024}

die() { echo "peers: $*" >&2; exit 1; }

start() {
  local d=$1
  command -v dovecot >/dev/null && [ -x /usr/lib/postfix/sbin/master ] || die "Postfix/Dovecot not installed: run bench/install-peers.sh"
  [ "$(id -u)" = 0 ] || die "needs root"
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  chmod 755 "$d"
  # Postfix and Dovecot drop to their own users: every parent must be traversable.
  local p=$d; while [ "$p" != / ]; do p=$(dirname "$p"); [ -x "$p" ] || die "$p not traversable"; done

  # --- TLS for Dovecot (self-signed, like mailhouse's) ---
  mkdir -p "$d/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" >/dev/null 2>&1 || die "openssl failed"
  chmod 600 "$d/tls/key.pem"

  # --- Dovecot: IMAPS/POP3S from Maildir, LMTP for Postfix ---
  [ -n "$HASH" ] || die "BENCH_HASH is not set"
  local hash="{ARGON2ID}$HASH" # verified by libsodium, exactly as mailhouse verifies it
  : >"$d/users"
  : >"$d/vmailbox"
  for i in $(seq 1 "$NUSERS"); do
    echo "bench$i@$DOMAIN:$hash" >>"$d/users"
    echo "bench$i@$DOMAIN OK" >>"$d/vmailbox"
  done
  chmod 640 "$d/users"; chgrp dovecot "$d/users"
  mkdir -p "$d/mail" "$d/dovecot-run" "$d/dovecot-state"
  chown 65534:65534 "$d/mail"
  cat >"$d/dovecot.conf" <<CONF
# Private benchmark instance (bench/peers.sh); not the system's dovecot.
instance_name = mailbench-dovecot
base_dir = $d/dovecot-run
state_dir = $d/dovecot-state
log_path = $d/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <$d/tls/cert.pem
ssl_key = <$d/tls/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=ARGON2ID $d/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$d/mail/%d/%n
}
mail_location = maildir:~/Maildir
postmaster_address = postmaster@$DOMAIN
# Many connections from one address and user (the load generator).
protocol imap {
  mail_max_userip_connections = 2000
}
protocol pop3 {
  mail_max_userip_connections = 2000
}
default_client_limit = 5000
default_vsz_limit = 1G
# Dovecot's "high-performance" login mode: a few long-lived login
# processes instead of one per connection (its docs' advice for load).
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 2000
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 2000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
service imap {
  process_limit = 2000
}
service pop3 {
  process_limit = 500
}
CONF
  ulimit -n 65536 2>/dev/null || true
  dovecot -c "$d/dovecot.conf" || die "dovecot did not start (see $d/dovecot.log)"

  # --- Postfix: smtpd for $DOMAIN, virtual transport LMTP to Dovecot ---
  mkdir -p "$d/postfix" "$d/postfix-spool" "$d/postfix-data"
  chown postfix "$d/postfix-data"
  cat >"$d/postfix/main.cf" <<CONF
# Private benchmark instance (bench/peers.sh); not the system's postfix.
compatibility_level = 3.6
queue_directory = $d/postfix-spool
data_directory = $d/postfix-data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.$DOMAIN
mydomain = $DOMAIN
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$d/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = \$myhostname ESMTP
biff = no
append_dot_mydomain = no
maillog_file = $d/postfix.log
maillog_file_prefixes = $d/
CONF
  # Debian's master.cf with chroot off (the spool is not a prepared
  # chroot) and smtpd on our loopback port instead of :25.
  sed -E -e 's/^smtp( +)inet( +)n( +)-( +)y/127.0.0.1:'"$SMTP_PORT"' inet n - n/' \
         -e '/^[a-z0-9.:]+ +(unix|inet|fifo|unix-dgram|pass) /s/^(\S+\s+\S+\s+\S+\s+\S+\s+)y(\s)/\1n\2/' \
         /etc/postfix/master.cf >"$d/postfix/master.cf"
  grep -q "^127.0.0.1:$SMTP_PORT inet" "$d/postfix/master.cf" || die "could not set the smtpd port in master.cf"
  # postfix(1) reports errors on stderr only when that is a terminal:
  # check the configuration under one (no daemon is left holding it),
  # then start with plain output.
  script -qec "/usr/sbin/postfix -c $d/postfix check" /dev/null >"$d/postfix.check.log" 2>&1 </dev/null ||
    die "postfix configuration: $(tr -d '\r' <"$d/postfix.check.log")"
  /usr/sbin/postfix -c "$d/postfix" start </dev/null >/dev/null 2>&1 || die "postfix did not start (see $d/postfix.log)"
  # Wait for both to listen.
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$SMTP_PORT") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$IMAPS_PORT") 2>/dev/null; then
      echo "peers: Postfix on 127.0.0.1:$SMTP_PORT, Dovecot IMAPS :$IMAPS_PORT POP3S :$POP3S_PORT LMTP :$LMTP_PORT ($d)"
      return 0
    fi
    sleep 0.1
  done
  die "servers did not start listening"
}

stop() {
  local d=$1
  [ -d "$d" ] || return 0
  d=$(cd "$d" && pwd)
  if [ -f "$d/postfix/main.cf" ] && [ -f "$d/postfix-spool/pid/master.pid" ]; then
    /usr/sbin/postfix -c "$d/postfix" stop >/dev/null 2>&1 || true
  fi
  if [ -f "$d/dovecot-run/master.pid" ]; then
    local pid; pid=$(cat "$d/dovecot-run/master.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: peers.sh start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: peers.sh stop DIR"; stop "$2" ;;
  dovecot-pid) cat "$2/dovecot-run/master.pid" ;;
  *) die "usage: peers.sh start|stop|dovecot-pid DIR" ;;
esac
