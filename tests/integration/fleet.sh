#!/bin/bash
# Fleet: three Tenace nodes behind a BGP router doing ECMP (scripts/fleet.sh),
# each `tenace run` inside `ip netns exec` with its own BIRD, three nginx
# servers answering clients directly. With real traffic (a client loop per
# address, a new connection per request, and wrk), it checks with numbers:
#   - the router learns the VIP from the three nodes, each announcing only
#     after its data plane served and a probe found a server up; sessions,
#     prefixes and the drain state in status and metrics; the three tables'
#     digests agree (and the digest is what the README says it is);
#   - traffic spread over the three nodes (per-node counters), every client
#     answered by one server whichever node carried it;
#   - a node dies (link down, controller and BIRD killed): its route is
#     withdrawn by the hold timer, no request fails once the router has
#     converged, no client changes server; back: announced again, nobody moves;
#   - tenace node drain: withdrawn, zero failed requests; resume: back;
#   - SIGTERM: withdrawn first, the data plane keeps serving, exit 0;
#   - every server stopped: the VIP withdrawn by every node; one server back:
#     announced again (last: it changes the tables, so nodes' conntrack
#     entries disagree afterwards, see the README);
#   - no sanitizer report.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export FLEET_P="tnfl$(($$ % 10000))" FLEET_CLIENTS=40 FLEET_TENACE="$TN_BIN"
. "$TN_ROOT/scripts/fleet.sh"
RUN="$FLEET_DIR/test"
NODES="1 2 3"

cleanup() {
	trap - EXIT
	for d in "$RUN"/*/; do [ -d "$d" ] && touch "$d/stop"; done
	fleet_load_stop "$RUN" >/dev/null 2>&1
	if [ "$_tap_failed" -gt 0 ]; then
		for n in $NODES; do
			echo "# --- node $n controller log (last 25 lines)"
			tail -n 25 "$FLEET_DIR/n$n/controller.log" 2>/dev/null | sed 's/^/# /'
		done
		echo "# --- router"
		ip -n "$FLEET_P-rt" route 2>/dev/null | sed 's/^/# /'
	fi
	fleet_down >/dev/null 2>&1
}
trap cleanup EXIT

nj() { fleet_tn "$1" -j "${@:2}" 2>/dev/null; }
# node N's BGP session state and what it announces: "Established 1"
session_of() { nj "$1" status | jq -r '.node.bgp.sessions[0] | "\(.state) \(.prefixesAnnounced)"'; }
sessions_up() { for n in $NODES; do [ "$(session_of "$n")" = "Established 1" ] || return 1; done; }
digest_of() { nj "$1" table 1 | jq -r .digest; }
# every client of DIR answered N times by requests started after T
answered_after() {
	local f
	for f in "$1"/c[0-9]*; do
		[ "$(awk -v t="$2" '$3 == "server" && $1 > t' "$f" | wc -l)" -ge "$3" ] || return 1
	done
}
# check_load NAME DIR [FAIL_AFTER]: zero failed requests (after FAIL_AFTER), nobody moved, wrk clean
check_load() {
	local n f w
	n=$(fleet_requests "$2")
	f=$(fleet_failures_after "$2" "${3:-0}")
	if [ "$n" -ge $((3 * FLEET_CLIENTS)) ] && [ "$f" -eq 0 ]; then
		ok "$1: 0 failed of $n requests from $FLEET_CLIENTS client addresses${3:+ (after the convergence)}"
	else
		not_ok "$1: 0 failed requests (got $f failed of $n)"
	fi
	check_eq "$1: every client answered by one server" 0 "$(fleet_unsticky "$2")"
	if [ -f "$2/wrk.out" ]; then
		w=$(fleet_wrk_result "$2")
		if [ "${w% *}" -gt 100 ] && [ "${w#* }" -eq 0 ]; then ok "$1: wrk: ${w% *} requests, 0 errors"
		else not_ok "$1: wrk: 0 errors (requests errors: $w)"; sed 's/^/# /' "$2/wrk.out"; fi
	fi
}
all_servers_up() { for n in $NODES; do [ "$(nj "$n" status | jq .farms[0].serversUp)" = 3 ] || return 1; done; }
log_line() { grep -nE "$2" "$FLEET_DIR/n$1/controller.log" | tail -n "${3:-1}" | head -n1 | cut -d: -f1; }

# ---- the fleet ----------------------------------------------------------------------------
fleet_up || { not_ok "build the fleet"; tap_done; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
mkdir -p "$RUN"
t0=$EPOCHREALTIME
for n in $NODES; do fleet_node_start "$n"; done
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 60); then
	ok "the router learned the VIP from the 3 nodes, $t s after their controllers started"
else
	not_ok "the router learned the VIP from the 3 nodes (next hops: $(fleet_nexthops))"
	tap_done
	exit 1
fi
check_eq "the router's route to $FLEET_VIP has the nodes' own addresses as next hops" \
	"$(fleet_node_addr 1) $(fleet_node_addr 2) $(fleet_node_addr 3)" "$(fleet_nexthops)"
wait_for 10 sessions_up
for n in $NODES; do
	check_eq "node $n: session with $FLEET_ROUTER established, 1 prefix announced" "Established 1" "$(session_of "$n")"
done
check_eq "node 1: status shows it in service, announcing the VIP" "false $FLEET_VIP/32" \
	"$(nj 1 status | jq -r '"\(.node.drained) \(.node.bgp.announced | join(","))"')"
m=$(curl -s --unix-socket "$(fleet_sock 1)" http://tenace/metrics)
check "metrics: tenace_bgp_session_up{neighbor=\"$FLEET_ROUTER\"} 1 and tenace_node_drained 0" \
	grep -qE "^tenace_bgp_session_up\{neighbor=\"$FLEET_ROUTER\",protocol=\"[a-z0-9_]+\"\} 1$" <<<"$m"
check "metrics: tenace_node_drained 0, tenace_bgp_prefixes_announced 1" \
	bash -c 'grep -qx "tenace_node_drained 0" <<<"$1" && grep -qx "tenace_bgp_prefixes_announced 1" <<<"$1"' _ "$m"
# a node announced only once its data plane served and a probe had found a server up
for n in $NODES; do
	a=$(log_line "$n" "bgp: announcing $FLEET_VIP/32")
	p=$(log_line "$n" "tcp farm 1 server [0-9]+ .* up:" 999)
	c=$(log_line "$n" "configuration applied")
	if [ -n "$a" ] && [ -n "$p" ] && [ -n "$c" ] && [ "$a" -gt "$p" ] && [ "$a" -gt "$c" ]; then
		ok "node $n: announced (log line $a) after its configuration was applied (line $c) and a server was up (line $p)"
	else
		not_ok "node $n: announced after the data plane served and a server was up (lines: announce $a, applied $c, up $p)"
	fi
done

# ---- the tables agree ------------------------------------------------------------------------
for n in $NODES; do nj "$n" table 1 >"$RUN/table$n.json"; done
d1=$(jq -r .digest "$RUN/table1.json")
check "node 1: table digest sha256:<64 hex>" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$d1"
check_eq "the 3 nodes' tables have the same digest" "$d1 $d1 $d1" \
	"$(for n in $NODES; do jq -r .digest "$RUN/table$n.json"; done | tr '\n' ' ' | sed 's/ $//')"
check_eq "the 3 nodes' tables have the same 65537 entries" "65537 1" \
	"$(jq -c .entries "$RUN"/table[123].json | sort -u | jq -s '"\(.[0] | length) \(length)"' -r)"
# the digest is SHA-256 over what the README documents, and nothing node-local
digest_py='import hashlib, json, struct, sys
t = json.load(open(sys.argv[1]))
h = hashlib.sha256()
h.update(b"tenace farm table v1\n%s farm %d size %d\n" % (t["type"].encode(), t["farmId"], t["tableSize"]))
for s in sorted(t["servers"], key=lambda s: s["serverId"]):
    h.update(b"server %d %s %d weight %d %s %s\n" % (s["serverId"], s["address"].encode(), s["port"], s["weight"],
             s["state"].encode(), b"backup" if s["backup"] else b"primary"))
h.update(b"entries\n")
for e in t["entries"]:
    h.update(struct.pack(">I", 0xffffffff if e is None else e))
print("sha256:" + h.hexdigest())'
check_eq "the digest recomputed from the table's JSON (servers and entries only)" "$d1" \
	"$(python3 -c "$digest_py" "$RUN/table1.json")"
shares=$(jq -r '[.servers[] | "\(.serverId):\(.entries)"] | join(" ")' "$RUN/table1.json")
check "each of the 3 servers holds about a third of the entries ($shares)" \
	jq -e '[.servers[] | .entries] | (length == 3) and (min > 20000)' "$RUN/table1.json"

# ---- traffic spread over the nodes, each client on one server ---------------------------------------
for n in $NODES; do p0[$n]=$(fleet_vip_packets "$n"); done
fleet_load_start "$RUN/spread" "$FLEET_CLIENTS" wrk
wait_for 60 fleet_load_answered "$RUN/spread" 10
sleep 1.2 # one counter sample more
fleet_load_stop "$RUN/spread"
spread=""
low=0
for n in $NODES; do
	d=$(($(fleet_vip_packets "$n") - p0[n]))
	spread="$spread${spread:+ / }node $n +$d"
	[ "$d" -ge 100 ] || low=1
done
check_eq "traffic spread over the 3 nodes by the router's ECMP (VIP packets: $spread)" 0 "$low"
check_load "spread over 3 nodes" "$RUN/spread"
fleet_servers_of "$RUN/spread" >"$RUN/servers.before"

# ---- a node dies -------------------------------------------------------------------------------
fleet_load_start "$RUN/death" "$FLEET_CLIENTS"
wait_for 30 fleet_load_answered "$RUN/death" 2
t_kill=$EPOCHREALTIME
# the machine is gone: its link first (no FIN reaches the router), then its processes
ip -n "$FLEET_P-n3" link set eth0 down
fleet_node_kill 3
if t=$(FLEET_T0=$t_kill fleet_wait_nexthops "1 2" 30); then
	ok "node 3 dead: the router withdrew its route after $t s (its hold timer: $FLEET_HOLD s)"
else
	not_ok "node 3 dead: route withdrawn (next hops: $(fleet_nexthops))"
fi
t_conv=$(awk -v a="$t_kill" -v b="${t:-0}" 'BEGIN {printf "%.6f", a + b}')
wait_for 60 answered_after "$RUN/death" "$t_conv" 5
fleet_load_stop "$RUN/death"
lost=$(cat "$RUN"/death/c* | awk -v a="$t_kill" -v b="$t_conv" '$3 == "fail" && $1 >= a - 3 && $1 <= b' | wc -l)
check_load "node 3 dead ($lost requests failed before the router converged)" "$RUN/death" "$t_conv"

# ---- it comes back ---------------------------------------------------------------------------------
ip -n "$FLEET_P-n3" link set eth0 up
fleet_load_start "$RUN/back" "$FLEET_CLIENTS" wrk
wait_for 30 fleet_load_answered "$RUN/back" 2
t_start=$EPOCHREALTIME
fleet_node_start 3
if t=$(FLEET_T0=$t_start fleet_wait_nexthops "1 2 3" 30); then
	ok "node 3 back: announced $t s after its controller started"
else
	not_ok "node 3 back: announced again (next hops: $(fleet_nexthops))"
fi
wait_for 60 answered_after "$RUN/back" "$EPOCHREALTIME" 5
fleet_load_stop "$RUN/back"
check_load "node 3 back" "$RUN/back"
fleet_servers_of "$RUN/back" >"$RUN/servers.after"
check_eq "every client has the server it had before node 3 died and came back" \
	"$(cat "$RUN/servers.before")" "$(cat "$RUN/servers.after")"
check "node 3: it took its pinned data plane over" grep -qE 'took over [0-9]+ farm slots' "$FLEET_DIR/n3/controller.log"
check_eq "node 3 restarted: the same table digest as the others (generation $(nj 3 table 1 | jq .generation) there)" \
	"$d1" "$(digest_of 3)"

# ---- drain and resume --------------------------------------------------------------------------------
fleet_load_start "$RUN/drain" "$FLEET_CLIENTS" wrk
wait_for 30 fleet_load_answered "$RUN/drain" 2
t0=$EPOCHREALTIME
out=$(fleet_tn 2 node drain)
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 3" 20); then ok "tenace node drain on node 2: withdrawn after $t s"
else not_ok "tenace node drain on node 2: withdrawn (next hops: $(fleet_nexthops))"; fi
check "tenace node drain says so" grep -q "node drained" <<<"$out"
check_eq "node 2: status shows it drained, announcing nothing" "true " \
	"$(nj 2 status | jq -r '"\(.node.drained) \(.node.bgp.announced | join(","))"')"
check "node 2: metrics tenace_node_drained 1" \
	grep -qx "tenace_node_drained 1" <(curl -s --unix-socket "$(fleet_sock 2)" http://tenace/metrics)
wait_for 60 answered_after "$RUN/drain" "$EPOCHREALTIME" 3
t0=$EPOCHREALTIME
fleet_tn 2 node resume >/dev/null
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "1 2 3" 20); then ok "tenace node resume on node 2: announced after $t s"
else not_ok "tenace node resume on node 2: announced again (next hops: $(fleet_nexthops))"; fi
wait_for 60 answered_after "$RUN/drain" "$EPOCHREALTIME" 3
fleet_load_stop "$RUN/drain"
check_load "drain and resume of node 2" "$RUN/drain"

# ---- SIGTERM: withdraw first, keep forwarding ---------------------------------------------------------------
fleet_load_start "$RUN/sigterm" "$FLEET_CLIENTS" wrk
wait_for 30 fleet_load_answered "$RUN/sigterm" 2
bird1=$(fleet_node_bird_pid 1)
t0=$EPOCHREALTIME
ctl1=$(fleet_node_ctl_pid 1)
kill -TERM "$ctl1"
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "2 3" 20); then ok "SIGTERM of node 1's controller: withdrawn after $t s"
else not_ok "SIGTERM of node 1's controller: withdrawn (next hops: $(fleet_nexthops))"; fi
wait "$ctl1"
check_eq "node 1's controller exits with status 0" 0 "$?"
check "node 1's BIRD stopped with it" bash -c "! kill -0 $bird1 2>/dev/null"
check "node 1's data plane still attached" bash -c "ip -n $FLEET_P-n1 link show eth0 | grep -q xdp"
wait_for 60 answered_after "$RUN/sigterm" "$EPOCHREALTIME" 3
fleet_load_stop "$RUN/sigterm"
check_load "SIGTERM of node 1" "$RUN/sigterm"

# ---- every server down, then one back ------------------------------------------------------------------
t0=$EPOCHREALTIME
for i in 1 2 3; do lab_server_stop "$i"; done
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "" 30); then ok "every server stopped: the VIP withdrawn by both nodes left after $t s"
else not_ok "every server stopped: the VIP withdrawn (next hops: $(fleet_nexthops))"; fi
check_eq "node 2: farm down, nothing announced" "down " \
	"$(nj 2 status | jq -r '"\(.farms[0].state) \(.node.bgp.announced | join(","))"')"
t0=$EPOCHREALTIME
lab_server_start 2
if t=$(FLEET_T0=$t0 fleet_wait_nexthops "2 3" 30); then ok "server 2 back: announced again by both nodes after $t s"
else not_ok "server 2 back: announced again (next hops: $(fleet_nexthops))"; fi
check_eq "a client is answered by server 2" "server 2" "$(fleet_request 1)"

# ---- clean stops, no sanitizer report --------------------------------------------------------------------------
rcs=""
for n in 2 3; do
	pid=$(fleet_node_ctl_pid "$n")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	rcs="$rcs$?"
done
check_eq "nodes 2 and 3 stop with status 0 (node 3 was started again in this shell)" "00" "$rcs"
pat='ERROR: (Address|Leak)Sanitizer|runtime error'
if grep -qE "$pat" "$FLEET_DIR"/n[123]/controller.log; then
	not_ok "no sanitizer report"
	grep -hE -A20 "$pat" "$FLEET_DIR"/n[123]/controller.log | head -n 40 | sed 's/^/# /'
else
	ok "no sanitizer report in the 3 controllers' logs"
fi
tap_done
