#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs, only when some are missing,
# then (for test and bench) checks that the SIP peers are the versions whose
# output the interop tests read.
# Usage: scripts/install-deps.sh run|test|bench
set -euo pipefail
build=(pkg-config cmake libasound2-dev libxkbcommon-dev libwayland-dev libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxi-dev)
test=(sip-tester baresip kamailio kamailio-tls-modules kamailio-presence-modules sipvicious dnsmasq-base tcpdump iproute2 util-linux pulseaudio pulseaudio-utils libasound2-plugins alsa-utils dbus-daemon slapd ldap-utils gnome-keyring libsecret-tools xvfb xauth xdotool imagemagick x11-utils libgl1-mesa-dri libegl1 dovecot-imapd python3-aiosmtpd openssl postgresql-15)
bench=(sox espeak-ng python3-pip)
case "${1:-test}" in
  run) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  bench) want=("${build[@]}" "${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian 12's versions; the tests parse their output formats.
peers=("sip-tester 3.6" "baresip 1.0" "kamailio 5.6")
check_peers() {
  [ "${1:-test}" = run ] && return 0
  local bad=0 spec pkg want have
  for spec in "${peers[@]}"; do
    read -r pkg want <<<"$spec"
    have=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
    have=${have#*:} # the epoch
    case "$have" in
      "$want".*|"$want"-*) ;;
      *) echo "install-deps: $pkg is ${have:-not installed}; the interop tests need $want.x (Debian 12's)" >&2; bad=1 ;;
    esac
  done
  return $bad
}
if [ ${#missing[@]} -eq 0 ]; then
  check_peers "${1:-test}"
  exit
fi
echo "installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Daemons (slapd, kamailio) must not start their stock service on every
# interface when installed: tests start their own on 127.0.0.1. A
# policy-rc.d that says 101 stops that; one we put there is removed after.
ours=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  ours=1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -n "$ours" ] && $SUDO rm -f /usr/sbin/policy-rc.d
check_peers "${1:-test}"
