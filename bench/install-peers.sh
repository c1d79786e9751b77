#!/usr/bin/env bash
# Installs the peer servers the comparison runs against (Postfix, Dovecot)
# from Debian, without starting or configuring the system services: the
# benchmark runs private instances on loopback high ports (see peers.sh).
set -euo pipefail

pkgs=(postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-peers: need root to install ${missing[*]}" >&2
  exit 1
fi

# Keep the packages' maintainer scripts from starting system services on
# ports 25/110/143/993/995: invoke-rc.d asks policy-rc.d, and 101 = "no".
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

# Postfix: "No configuration" leaves /etc/postfix/main.cf absent; our
# instances use their own config directory anyway.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

echo "install-peers: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Should a service manager still have started them, stop and disable the
# system instances (they are not ours to run). Harmless when absent.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now postfix dovecot >/dev/null 2>&1 || true
fi
echo "install-peers: done"
