#!/bin/bash
# Integration test of `tenace pktgen`: real frames over a veth pair between two
# namespaces. The receiving end runs sink_xdp (counts, drops) to check exact
# counts, or pass_xdp so tcpdump sees the frames (distinct sources, checksums).
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

GEN=tnpg-gen-$$
RCV=tnpg-rcv-$$
TMP=$(mktemp -d)
HELPERS="$TN_ROOT/build/helpers.bpf.o"
cleanup() {
	[ -n "${TCPDUMP_PID:-}" ] && kill "$TCPDUMP_PID" 2>/dev/null
	ip netns del "$GEN" 2>/dev/null
	ip netns del "$RCV" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$GEN" && ip netns add "$RCV" &&
	ip link add pg0 netns "$GEN" type veth peer name pg1 netns "$RCV" || {
	not_ok "set up namespaces and veth pair"
	exit 1
}
# no IPv6 autoconfiguration or router solicitations: only our frames on the link
for ns in "$GEN" "$RCV"; do
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$GEN" link set pg0 up
ip -n "$RCV" link set pg1 up
RMAC=$(ip -n "$RCV" -j link show pg1 | jq -r '.[0].address')

receiver() { # receiver sink_xdp|pass_xdp
	ip -n "$RCV" link set dev pg1 xdpdrv off 2>/dev/null
	ip -n "$RCV" link set dev pg1 xdpdrv obj "$HELPERS" sec xdp program "$1"
}
rx_packets() { ip -n "$RCV" -j -s link show pg1 | jq '.[0].stats64.rx.packets'; }
pg() { ip netns exec "$GEN" "$TN_BIN" pktgen "$@"; }
pgv4() { pg -i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 "$@"; }
# check_json "name" JSON JQ-EXPRESSION
check_json() { if jq -e "$3" <<<"$2" >/dev/null 2>&1; then ok "$1"; else not_ok "$1 (got: $2)"; fi; }

# capture COUNT FILTER -- PKTGEN-ARGS...: frames seen by tcpdump, one per line (-vv)
capture() {
	local count="$1" filter="$2"
	shift 3
	ip netns exec "$RCV" tcpdump -i pg1 -U -nn -e -vv -c "$count" "$filter" >"$TMP/cap.txt" 2>"$TMP/tcpdump.err" &
	TCPDUMP_PID=$!
	# under load tcpdump can take seconds to start: wait until it listens
	for _ in $(seq 200); do grep -qs listening "$TMP/tcpdump.err" && break; sleep 0.1; done
	pg -q "$@" >/dev/null
	for _ in $(seq 200); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$TCPDUMP_PID" 2>/dev/null
	wait "$TCPDUMP_PID" 2>/dev/null
	TCPDUMP_PID=
	# -vv prints each frame on two lines: join them
	paste -d' ' - - <"$TMP/cap.txt"
}

check "attach sink_xdp on the receiver" receiver sink_xdp

# ---- exact counts, JSON summary ------------------------------------------
before=$(rx_packets)
out=$(pgv4 -n 100000 -j -q)
after=$(rx_packets)
check_json "-j prints one JSON object with packets, seconds, pps, threads, clients" "$out" \
	'(.packets == 100000) and (.threads == 1) and (.clients == 1) and (.seconds > 0) and (.pps > 0)'
check_eq "receiver counted every frame of -n 100000" 100000 "$((after - before))"

before=$(rx_packets)
out=$(pgv4 -n 1 -j -q --proto udp)
check_eq "-n 1 sends exactly one frame" "1 1" "$(jq -r .packets <<<"$out") $(($(rx_packets) - before))"

out=$(pgv4 -n 300000 -t 2 --clients 1000 --ports 10 -j -q)
check_json "-t 2 shares -n between two threads" "$out" '(.packets == 300000) and (.threads == 2) and (.clients == 1000)'

pgv4 -d 1.5 >"$TMP/out.txt" 2>"$TMP/err.txt"
rc=$?
check "-d 1.5 without -q prints the progress line" grep -q 'packets sent, .* Mpps' "$TMP/err.txt"
check "-d 1.5 prints a summary and exits 0" \
	bash -c "[ $rc -eq 0 ] && grep -qE '^[0-9]+ packets in 1\.[4-9][0-9]* s: [0-9]+ pps' '$TMP/out.txt'"

# Pacing is checked as work against the tool's own clock, not as a rate the
# machine must reach: a rate-limited sender is never ahead of its schedule
# by more than one call's share (-r / 20 calls a second), and a late wake-up
# on a loaded machine may cost it frames, not the other way round.
out=$(pgv4 -r 2000 -d 2 -j -q)
check_json "-r 2000 -d 2 never runs ahead of 2000 frames a second (+ one call of 100)" "$out" \
	'(.packets <= 2000 * .seconds + 100) and (.seconds >= 1.9)'
check_json "-r 2000 -d 2 sends at least half its schedule (2000 of 4000)" "$out" '.packets >= 2000'
out=$(pgv4 -r 20 -n 10 -j -q)
check_json "-r 20 -n 10 sends 10 frames, no faster than 20 a second (>= 0.4 s)" "$out" \
	'(.packets == 10) and (.seconds >= 0.4) and (.seconds <= 5)'

# ---- what is on the wire -------------------------------------------------
check "attach pass_xdp on the receiver" receiver pass_xdp

capture 200 'tcp and dst port 80' -- -i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --clients 50 --ports 4 \
	--src 10.9.0.1 --src-port 2000 -n 200 >"$TMP/v4.txt"
check_eq "200 SYNs captured" 200 "$(wc -l <"$TMP/v4.txt")"
# "... 10.9.0.7.2001 > 10.1.0.2.80: Flags [S], cksum 0x1234 (correct), ..."
srcs=$(grep -oE '10\.9\.0\.[0-9]+\.[0-9]+ > 10\.1\.0\.2\.80' "$TMP/v4.txt" | awk '{print $1}')
check_eq "--clients 50 gives 50 distinct source addresses" 50 \
	"$(sed -E 's/\.[0-9]+$//' <<<"$srcs" | sort -u | wc -l)"
check_eq "--ports 4 gives source ports 2000..2003" "2000 2001 2002 2003" \
	"$(sed -E 's/.*\.//' <<<"$srcs" | sort -un | xargs)"
check_eq "200 frames are 200 distinct (address, port)" 200 "$(sort -u <<<"$srcs" | wc -l)"
# tcpdump -vv flags a wrong IPv4 header sum "bad cksum", and checks TCP's
check_eq "every IPv4 header checksum is correct" 0 "$(grep -c 'bad cksum' "$TMP/v4.txt")"
check_eq "every TCP checksum is correct" 0 "$(grep -cv 'Flags \[S\], cksum 0x[0-9a-f]* (correct)' "$TMP/v4.txt")"
check "frames carry the generator's MAC and the given destination MAC" \
	grep -q "$(ip -n "$GEN" -j link show pg0 | jq -r '.[0].address') > $RMAC" "$TMP/v4.txt"
check "a 64-byte frame" grep -q 'length 64:' "$TMP/v4.txt"

capture 30 'ip6 and udp' -- -i pg0 --dst-mac "$RMAC" --dst fd00:1::2 --dst-port 53 --proto udp \
	--clients 30 --size 200 -n 30 >"$TMP/v6.txt"
check_eq "--clients 30 over IPv6/UDP gives 30 sources from fd00::1" 30 \
	"$(grep -oE 'fd00::[0-9a-f]+\.1024 > fd00:1::2\.53' "$TMP/v6.txt" | sort -u | wc -l)"
check_eq "every UDP/IPv6 checksum is correct" 0 "$(grep -cv 'udp sum ok' "$TMP/v6.txt")"
check "--size 200 gives 200-byte frames" grep -q 'length 200:' "$TMP/v6.txt"

capture 10 'vlan 7' -- -i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --vlan 7 --proto ack -n 10 >"$TMP/vlan.txt"
check_eq "--vlan 7 tags every frame" 10 "$(grep -c 'vlan 7' "$TMP/vlan.txt")"
check "--proto ack sends ACKs" grep -q 'Flags \[\.\]' "$TMP/vlan.txt"

# ---- errors name what is wrong -------------------------------------------
expect_error() { # expect_error "name" "words in the message" pktgen-args...
	local name="$1" words="$2" err rc
	shift 2
	err=$(pg "$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -qF -- "$words" <<<"$err"; then
		ok "$name"
	else
		not_ok "$name (exit $rc, said: $err)"
	fi
}
expect_error "unknown interface" "unknown interface 'nope0'" -i nope0 --dst-mac "$RMAC" --dst 10.1.0.2 -n 1
expect_error "bad destination address" "'10.1.0.300' is not an IPv4 or IPv6 address" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.300 -n 1
expect_error "bad MAC" "'02:00:00:zz:00:01' is not a MAC address" \
	-i pg0 --dst-mac 02:00:00:zz:00:01 --dst 10.1.0.2 -n 1
expect_error "missing --dst-mac" "--dst-mac MAC is required" -i pg0 --dst 10.1.0.2 -n 1
expect_error "missing --iface" "-i/--iface IFACE is required" --dst-mac "$RMAC" --dst 10.1.0.2 -n 1
expect_error "size too small for the headers" "IPv6 TCP needs 78..1518 bytes" \
	-i pg0 --dst-mac "$RMAC" --dst fd00::2 --vlan 1 --size 64 -n 1
expect_error "size above the MTU" "exceeds what the MTU 1500 of 'pg0' allows (1514)" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --size 1518 -n 1
expect_error "families of --src and --dst differ" "--src is IPv6 but --dst is IPv4" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --src fd00::1 -n 1
expect_error "unknown protocol" "'icmp' is not syn, ack or udp" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --proto icmp -n 1
expect_error "clients past 255.255.255.255" "go past 255.255.255.255" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 --src 255.255.255.0 --clients 1000 -n 1
expect_error "--count is a number" "--count: 'ten' is not a number" \
	-i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 -n ten
# --dump shows the frame a run sends: from the interface's MAC with -i, even
# when the interface is down (nothing is sent), else from --src-mac
GMAC=$(ip -n "$GEN" -j link show pg0 | jq -r '.[0].address')
hexmac() { tr -d : <<<"$1"; }
ip -n "$GEN" link set pg0 down
dump=$(pg --dump 3 -i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 2>/dev/null)
if [ "${dump:0:12}" = "$(hexmac "$RMAC")" ] && [ "${dump:12:12}" = "$(hexmac "$GMAC")" ]; then
	ok "pktgen --dump -i pg0: destination $RMAC, source pg0's own $GMAC"
else
	not_ok "pktgen --dump -i pg0: want $RMAC then $GMAC, got ${dump:0:24}"
fi
dump=$(pg --dump 3 --src-mac 02:aa:bb:cc:dd:ee --dst-mac "$RMAC" --dst 10.1.0.2 2>/dev/null)
[ "${dump:12:12}" = 02aabbccddee ] && ok "pktgen --dump --src-mac: that source" ||
	not_ok "pktgen --dump --src-mac: got ${dump:12:12}"
err=$(pg --dump 3 --dst-mac "$RMAC" --dst 10.1.0.2 2>&1 >/dev/null)
grep -qF "no -i IFACE or --src-mac" <<<"$err" && ok "pktgen --dump without a source MAC says so" ||
	not_ok "pktgen --dump without a source MAC: said '$err'"
expect_error "interface down" "interface 'pg0' is down" -i pg0 --dst-mac "$RMAC" --dst 10.1.0.2 -n 1

tap_done
