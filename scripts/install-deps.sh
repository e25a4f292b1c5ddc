#!/usr/bin/env bash
# Installs the system packages the test suite and benchmarks use, on Debian.
# Package scripts are kept from starting any daemon in the root network
# namespace: avahi-daemon, snmpd and friends are only ever started inside
# namespaces that the tests create themselves.
set -euo pipefail

pkgs=(
  postgresql            # store tests run against SQLite and PostgreSQL
  avahi-daemon avahi-utils  # real mDNS responder (inside namespaces only)
  dbus-daemon           # a private system bus per namespace for avahi and its clients
  cups-ipp-utils        # ippeveprinter, ippfind
  snmpd snmp            # SNMP fallback path (inside namespaces only)
  chromium              # account web pages, headless browser tests
  hyperfine             # bench/
  gh                    # bench/startup.sh compares arsctl's start with gh's
  haproxy               # load balancer of the multi-replica test and bench/arsd.sh
  nftables              # packet loss for the mDNS re-query test (inside namespaces only)
  iproute2 tmux jq procps
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get, network namespaces)" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

policy=/usr/sbin/policy-rc.d
had_policy=0
[ -e "$policy" ] && had_policy=1
if [ $had_policy -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Make sure nothing we installed is running in the root namespace.
for d in avahi-daemon snmpd cupsd haproxy; do
  pkill -x "$d" 2>/dev/null || true
done
echo "install-deps: installed ${missing[*]}"
