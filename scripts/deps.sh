#!/bin/sh
# Install (or, with --check, look for) every Debian package Tenace's build,
# tests, demo and benchmarks need. Idempotent and non-interactive.
# bird2: Tenace starts its own BIRD for BGP (and the fleet lab's router is
# one); Debian's package also enables a system bird service, which Tenace
# neither uses nor disturbs (every instance has its own -c, -s and -P).
set -e
PKGS="clang llvm gcc make pkg-config libbpf-dev libelf-dev zlib1g-dev bpftool
libmnl-dev nettle-dev libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libcmocka-dev
iproute2 ethtool curl nginx-light wrk gnuplot-nox valgrind python3 procps
jq tcpdump libpcap-dev util-linux openssl bird2 netbase xxd chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "$1" = "--check" ]; then
	[ -z "$missing" ] && exit 0
	echo "missing packages:$missing"
	exit 1
fi
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
