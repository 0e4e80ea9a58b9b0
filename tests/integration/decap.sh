#!/bin/bash
# The servers' side on real interfaces (the routed lab, no balancer needed):
# `tenace decap` on three servers behind routers; tunnel frames made by hand
# in the balancer's namespace (IPIP, IPv6 in IPv6, GUE v0 and v1 over both
# families) carry a client's datagram to the VIP; the server's UDP service
# answers the client directly. Checks: every kind answered, exact counters in
# `tenace decap --status -j`, tunnels to other addresses passed and counted,
# the SYN-ACK MSS lowered by each tunnel's overhead with a valid checksum,
# a re-run keeps the counters, --off removes everything.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tndc$(($$ % 10000))" LAB_SERVERS=0 LAB_CLIENTS=20
export LAB_RVIPS="10.99.100.2" LAB_RVIPS6="fd99::100:2"
. "$TN_ROOT/scripts/lab_routed.sh"
PY="$TN_ROOT/tests/integration/helpers/tunnel.py"
PY3=$(command -v /usr/bin/python3 || command -v python3) # the system's: a pyenv shim costs a second a call
ERR="$LAB_DIR/decap.err"
LB4="$LAB_LB"
LB6="$LAB_LB6"

cleanup() {
	trap - EXIT
	if [ "$_tap_failed" -gt 0 ] && [ -s "$ERR" ]; then sed 's/^/# /' "$ERR" | tail -n 20; fi
	rlab_down >/dev/null 2>&1
}
trap cleanup EXIT

status() { lab_netns "r$1" "$TN_BIN" decap --status -j --pin-dir "/sys/fs/bpf/$LAB_P-r$1" 2>>"$ERR"; }
counter() { status "$1" | jq -r --arg c "$2" '.[0].counters[$c].packets'; }

ensure_bpffs
rlab_up || { not_ok "build the routed lab"; exit 1; }
mkdir -p "$LAB_DIR"
RTMAC=$(ip -n "$LAB_P-rt" -j link show eth0 | jq -r '.[0].address')
for i in 1 2 3; do rlab_server_start "$i"; done
ok_all=1
for i in 1 2 3; do rlab_decap "$i" "$TN_BIN" 2>>"$ERR" || ok_all=0; done
check_eq "tenace decap attached on the three servers" 1 "$ok_all"
check_eq "status: r1 attached on TC ingress and egress, GUE port 6080, clamp on, both VIPs" \
	"true 6080 true $LAB_RVIP,$LAB_RVIP6" \
	"$(status 1 | jq -r '.[0] | "\(.attached.ingress > 0 and .attached.egress > 0) \(.guePort) \(.mssClamp) \([.vips[].vip] | sort | join(","))"')"
check "tc shows the filter on r1's ingress" bash -c "ip netns exec $LAB_P-r1 tc filter show dev eth0 ingress | grep -q tenace_decap"

# a UDP service on each server's VIP, answering the client directly
for i in 1 3; do
	lab_ns "r$i" "$PY3" "$PY" udp-echo "$LAB_RVIP" 7000 &
	lab_ns "r$i" "$PY3" "$PY" udp-echo "$LAB_RVIP6" 7000 &
done
sleep 0.5

# trip KIND SERVER FAMILY CLIENT_N udp|syn PORT [more]: what the client gets back
trip() {
	local kind="$1" s="$2" fam="$3" n="$4" what="$5" port="$6" src dst osrc odst sport
	shift 6
	if [ "$fam" = 6 ]; then
		src="$LAB_NET6::1:$n" dst="$LAB_RVIP6" osrc="$LB6" odst="$(rlab_server_addr6 "$s")"
	else
		src="$(lab_client_addr "$n")" dst="$LAB_RVIP" osrc="$LB4" odst="$(rlab_server_addr "$s")"
	fi
	sport=$((5000 + n))
	"$PY3" "$PY" trip "$LAB_P-cli" "$LAB_P-lb" eth0 "$RTMAC" "$kind" "$osrc" "$odst" "$src" "$dst" "$what" \
		"$sport" "$port" "$@"
}
one_trip() { trip "$1" "$2" "$3" "$4" udp 7000 "${@:5}"; }

n=0
for fam in 4 6; do
	for kind in ipip gue0 gue1; do
		for s in 1 3; do
			n=$((n + 1))
			vip=$([ "$fam" = 6 ] && echo "$LAB_RVIP6" || echo "$LAB_RVIP")
			check_eq "$kind over IPv$fam to r$s: the client gets the VIP's answer" \
				"echo tenace $vip" "$(one_trip "$kind" "$s" "$fam" "$n")"
		done
	done
done
check_eq "r1 counted exactly: decap_ipip4 decap_ipip6 decap_gue0 decap_gue1" "1 1 2 2" \
	"$(status 1 | jq -r '.[0].counters | "\(.decap_ipip4.packets) \(.decap_ipip6.packets) \(.decap_gue0.packets) \(.decap_gue1.packets)"')"
check_eq "r3 (behind the narrow link) counted the same" "1 1 2 2" \
	"$(status 3 | jq -r '.[0].counters | "\(.decap_ipip4.packets) \(.decap_ipip6.packets) \(.decap_gue0.packets) \(.decap_gue1.packets)"')"
check_eq "r1: 6 packets to its VIPs (3 each), no drop" "3 3 0 0" \
	"$(status 1 | jq -r --arg a "$LAB_RVIP" --arg b "$LAB_RVIP6" '.[0] | "\(.vips[] | select(.vip == $a) | .packets) \(.vips[] | select(.vip == $b) | .packets) \(.counters.drop_malformed.packets) \(.counters.drop_adjust.packets)"')"

# a tunnel to an address that is no VIP: passed untouched, counted, refused by the stack
for kind in ipip gue0; do
	lab_ns lb "$PY3" "$PY" send eth0 "$RTMAC" "$kind" "$LB4" "$(rlab_server_addr 1)" "$(lab_client_addr 19)" \
		"$LAB_NET.100.77" udp 5019 7000
done
check_eq "tunnels to another address: passed and counted (pass_not_vip)" 2 "$(counter 1 pass_not_vip)"
check_eq "... and nothing decapsulated for them" "1 2" "$(status 1 | jq -r '.[0].counters | "\(.decap_ipip4.packets) \(.decap_gue0.packets)"')"

# the SYN-ACK clamp: full checksums on r1 (tx off), so the program must fix them
lab_ns r1 ethtool -K eth0 tx off >/dev/null
syn_trip() { trip "$1" 1 "$2" "$3" syn 80; } # KIND FAMILY CLIENT_N: "mss M csum ok" of the SYN-ACK
# nginx advertises 1460 (IPv4) / 1440 (IPv6) on a 1500 link
check_eq "SYN-ACK of an IPIP SYN: MSS 1460 - 20" "mss 1440 csum ok" "$(syn_trip ipip 4 11)"
check_eq "SYN-ACK of a GUE v0 SYN: MSS 1460 - 32" "mss 1428 csum ok" "$(syn_trip gue0 4 12)"
check_eq "SYN-ACK of a GUE v1 SYN: MSS 1460 - 28" "mss 1432 csum ok" "$(syn_trip gue1 4 13)"
check_eq "SYN-ACK of an IPv6-in-IPv6 SYN: MSS 1440 - 40" "mss 1400 csum ok" "$(syn_trip ipip 6 14)"
check_eq "SYN-ACK of a GUE v0 over IPv6 SYN: MSS 1440 - 52" "mss 1388 csum ok" "$(syn_trip gue0 6 15)"
lab_ns r1 ethtool -K eth0 tx on >/dev/null
check_eq "SYN-ACK with TX checksum offload: MSS 1428, checksum left to the offload" "mss 1428" \
	"$(syn_trip gue0 4 16 | awk '{print $1, $2}')"
# (the client's kernel has no socket for them: the server retransmits, each one clamped)
n_clamped=$(counter 1 mss_clamped)
if [ "$n_clamped" -ge 6 ]; then ok "status: $n_clamped SYN-ACKs clamped on r1 (6 SYNs, retransmissions)"; else not_ok "status: at least 6 SYN-ACKs clamped on r1 (got $n_clamped)"; fi

# settings change without losing counters; --off removes the programs and pins
before=$(status 1 | jq -c '.[0].counters | [.decap_ipip4.packets, .decap_ipip6.packets, .decap_gue0.packets, .decap_gue1.packets]')
rlab_decap 1 "$TN_BIN" --gue-port 7080 --mss-clamp off 2>>"$ERR"
check_eq "a re-run changes the settings and keeps the counters" "7080 false $before" \
	"$(status 1 | jq -c -r '.[0] | "\(.guePort) \(.mssClamp) \(.counters | [.decap_ipip4.packets, .decap_ipip6.packets, .decap_gue0.packets, .decap_gue1.packets])"')"
check_eq "GUE to port 6080 is no tunnel any more" "timeout" "$(one_trip gue0 1 4 17 --timeout 1)"
check_eq "GUE to port 7080 is" "echo tenace $LAB_RVIP" "$(one_trip gue0 1 4 18 --gue-port 7080)"
bad=$(lab_netns r1 "$TN_BIN" decap eth0 --vip 10.1.2.300 --pin-dir "/sys/fs/bpf/$LAB_P-r1" 2>&1)
check "a bad --vip is refused with its value named" grep -q '"10.1.2.300" is not an IPv4 or IPv6 address' <<<"$bad"
check_eq "... and the running instance is unchanged" "7080 2" "$(status 1 | jq -r '.[0] | "\(.guePort) \(.vips | length)"')"
lab_netns r1 "$TN_BIN" decap eth0 --off --pin-dir "/sys/fs/bpf/$LAB_P-r1" 2>>"$ERR"
check_eq "--off: no filter, no clsact qdisc, no pins" "0 0 absent" \
	"$(ip netns exec "$LAB_P-r1" tc filter show dev eth0 ingress | grep -c tenace) $(ip netns exec "$LAB_P-r1" tc qdisc show dev eth0 | grep -c clsact) $([ -e "/sys/fs/bpf/$LAB_P-r1/eth0" ] && echo present || echo absent)"
check_eq "status after --off shows no instance" "[]" "$(status 1 | jq -c '.')"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$ERR"; then not_ok "no sanitizer report"; else ok "no sanitizer report"; fi
tap_done
