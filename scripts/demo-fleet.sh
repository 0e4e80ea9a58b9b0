#!/bin/bash
# Tenace as a fleet (make demo-fleet): a BGP router (BIRD 2) doing ECMP over
# L4 hashes, three balancer namespaces each running `tenace run` and its own
# BIRD, three nginx servers answering clients directly, clients behind the
# router (scripts/fleet.sh draws it). It shows the VIP learned from three
# next hops, traffic spread over the nodes with every client kept on its
# server whichever node carries it, a node dying and coming back, a drain,
# and every server stopped then one back. Every step is checked; the last
# line says whether all checks passed. Cleans up on exit (Ctrl-C included).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export FLEET_TENACE="${TENACE:-$ROOT/build/tenace}"
export FLEET_P="${FLEET_P:-tnfd}" FLEET_CLIENTS="${FLEET_CLIENTS:-30}"
# shellcheck source=fleet.sh
. "$ROOT/scripts/fleet.sh"
RUN="$FLEET_DIR/demo"
FAIL=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; FAIL=1; }
check() { if [ "$2" = "$3" ]; then note "$1"; else bad "$1 (expected $2, got $3)"; fi; }

cleanup() {
	trap - EXIT INT TERM
	[ -d "$RUN" ] && for d in "$RUN"/*/; do touch "$d/stop" 2>/dev/null; done
	fleet_load_stop "$RUN" >/dev/null 2>&1
	fleet_down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

# answered_after DIR T N: every client answered N times by requests started after T
answered_after() {
	local f
	for f in "$1"/c[0-9]*; do
		[ "$(awk -v t="$2" '$3 == "server" && $1 > t' "$f" | wc -l)" -ge "$3" ] || return 1
	done
}
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done; }
# report_load NAME DIR [AFTER]: failed requests (started after AFTER), clients that changed server, wrk
report_load() {
	local n f u w
	n=$(fleet_requests "$2")
	f=$(fleet_failures_after "$2" "${3:-0}")
	u=$(fleet_unsticky "$2")
	note "$1: $n requests from $FLEET_CLIENTS clients, $f failed${3:+ once the router had converged}, $u clients changed server"
	[ "$f" -eq 0 ] && [ "$u" -eq 0 ] || bad "$1: failed requests or clients that moved"
	if [ -f "$2/wrk.out" ]; then
		w=$(fleet_wrk_result "$2")
		note "$1: wrk ${w% *} requests, ${w#* } errors"
		[ "${w#* }" -eq 0 ] && [ "${w% *}" -gt 0 ] || bad "$1: wrk errors"
	fi
}
route() { ip -n "$FLEET_P-rt" route show "$FLEET_VIP/32" | sed 's/^/   router: /'; }

say "1. The fleet: a router (BIRD, ECMP), $FLEET_NODES Tenace nodes, $FLEET_SERVERS nginx servers, $FLEET_CLIENTS clients"
fleet_up || { echo "cannot build the fleet"; exit 1; }
for i in $(seq 1 "$FLEET_SERVERS"); do lab_server_start "$i"; done
mkdir -p "$RUN"
note "router $FLEET_ROUTER (AS $FLEET_AS_ROUTER, net.ipv4.fib_multipath_hash_policy=1), VIP $FLEET_VIP:80"
note "nodes $(fleet_node_addr 1) $(fleet_node_addr 2) $(fleet_node_addr 3) (AS $FLEET_AS_NODES, holdTime $FLEET_HOLD s), same configuration, hashSeed 7"

say "2. Each node: \`ip netns exec NODE tenace run\` with its own BIRD; the router learns the VIP"
t0=$EPOCHREALTIME
for n in 1 2 3; do fleet_node_start "$n"; done
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 60); then
	note "the VIP learned from 3 next hops, $t s after the controllers started:"
else
	bad "the router did not learn the VIP from the 3 nodes (next hops: $(fleet_nexthops))"
fi
route
for _ in $(seq 50); do [ "$(fleet_tn 1 -j node | jq -r '.bgp.sessions[0].state')" = Established ] && break; sleep 0.1; done
note "\$ tenace node   (on node 1)"
fleet_tn 1 node | sed 's/^/   /'

say "3. The nodes' tables agree: tenace table 1 on each node"
for n in 1 2 3; do
	d[$n]=$(fleet_tn "$n" -j table 1 | jq -r .digest)
	note "node $n: ${d[$n]}"
done
check "the 3 digests are equal" "${d[1]} ${d[1]}" "${d[2]} ${d[3]}"
fleet_tn 1 table 1 | tail -n 4 | sed 's/^/   /'

say "4. Traffic: wrk and $FLEET_CLIENTS client loops (a new connection per request) through the router"
for n in 1 2 3; do p0[$n]=$(fleet_vip_packets "$n"); done
fleet_load_start "$RUN/spread" "$FLEET_CLIENTS" wrk
wait_until 60 fleet_load_answered "$RUN/spread" 10
sleep 1.2
fleet_load_stop "$RUN/spread"
for n in 1 2 3; do
	dp=$(($(fleet_vip_packets "$n") - p0[n]))
	note "node $n forwarded $dp VIP packets"
	[ "$dp" -gt 0 ] || bad "node $n carried nothing"
done
report_load "spread" "$RUN/spread"
for n in 1 2 3; do q0[$n]=$(fleet_vip_packets "$n"); done
c7=""
for _ in $(seq 30); do c7="$c7$(fleet_request 7)\n"; done
sleep 1.2
seen=$(printf "$c7" | sort | uniq -c | awk '{printf "%s%s %s (%d times)", (NR > 1) ? ", " : "", $2, $3, $1}')
note "client $(fleet_client_addr 7), 30 new connections: answered by $seen"
note "  carried by node 1: +$(($(fleet_vip_packets 1) - q0[1])) packets, node 2: +$(($(fleet_vip_packets 2) - q0[2])), node 3: +$(($(fleet_vip_packets 3) - q0[3]))"
[ "$(printf "$c7" | sort -u | wc -l)" -eq 1 ] || bad "client 7 was answered by several servers"
fleet_servers_of "$RUN/spread" >"$RUN/servers.before"

say "5. Node 3 dies (its link goes down, its controller and BIRD are killed)"
fleet_load_start "$RUN/death" "$FLEET_CLIENTS" wrk
wait_until 30 fleet_load_answered "$RUN/death" 2
t_kill=$EPOCHREALTIME
ip -n "$FLEET_P-n3" link set eth0 down
fleet_node_kill 3
if t=$(FLEET_T0=$t_kill fleet_wait_nexthops "1 2" 30); then
	note "the router withdrew node 3's next hop after $t s (hold timer $FLEET_HOLD s):"
else
	bad "node 3's route was not withdrawn"
fi
route
t_conv=$(awk -v a="$t_kill" -v b="${t:-0}" 'BEGIN {printf "%.6f", a + b}')
wait_until 60 answered_after "$RUN/death" "$t_conv" 5
fleet_load_stop "$RUN/death"
report_load "node 3 dead" "$RUN/death" "$t_conv"
note "(wrk's connections that ECMP had put on node 3 waited for the router to converge; none was lost)"

say "6. Node 3 comes back: announced again, nobody moves"
ip -n "$FLEET_P-n3" link set eth0 up
fleet_load_start "$RUN/back" "$FLEET_CLIENTS" wrk
wait_until 30 fleet_load_answered "$RUN/back" 2
t0=$EPOCHREALTIME
fleet_node_start 3
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 30); then
	note "node 3 announced $t s after its controller started (its data plane kept its tables)"
else
	bad "node 3 was not announced again"
fi
wait_until 60 answered_after "$RUN/back" "$EPOCHREALTIME" 5
fleet_load_stop "$RUN/back"
report_load "node 3 back" "$RUN/back"
fleet_servers_of "$RUN/back" >"$RUN/servers.after"
moved=$(diff "$RUN/servers.before" "$RUN/servers.after" | grep -c '^>')
check "clients on another server than before node 3 died: $moved" 0 "$moved"

say "7. tenace node drain on node 2, then tenace node resume"
fleet_load_start "$RUN/drain" "$FLEET_CLIENTS" wrk
wait_until 30 fleet_load_answered "$RUN/drain" 2
t0=$EPOCHREALTIME
note "\$ tenace node drain"
fleet_tn 2 node drain | head -n 1 | sed 's/^/   /'
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 3" 20); then note "node 2's route withdrawn after $t s"; else bad "node 2 not withdrawn"; fi
wait_until 60 answered_after "$RUN/drain" "$EPOCHREALTIME" 3
t0=$EPOCHREALTIME
fleet_tn 2 node resume >/dev/null
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 20); then note "resumed: announced after $t s"; else bad "node 2 not announced again"; fi
wait_until 60 answered_after "$RUN/drain" "$EPOCHREALTIME" 3
fleet_load_stop "$RUN/drain"
report_load "drain and resume" "$RUN/drain"

say "8. Every server of the farm stops: no node announces the VIP; one server back: all announce"
t0=$EPOCHREALTIME
for i in $(seq 1 "$FLEET_SERVERS"); do lab_server_stop "$i"; done
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "" 30); then
	note "the VIP withdrawn by every node $t s after the servers stopped (probes: 0.5 s, fall 2)"
else
	bad "the VIP is still announced (next hops: $(fleet_nexthops))"
fi
note "router: $(ip -n "$FLEET_P-rt" route show "$FLEET_VIP/32" | grep -c .) route(s) to $FLEET_VIP"
t0=$EPOCHREALTIME
lab_server_start 1
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 30); then
	note "server 1 back: announced again by the 3 nodes after $t s"
else
	bad "the VIP was not announced again"
fi
check "a client is answered by server 1" "server 1" "$(fleet_request 1)"

echo
if [ "$FAIL" -eq 0 ]; then echo "demo-fleet: all checks passed"; else echo "demo-fleet: some checks FAILED"; fi
exit "$FAIL"
