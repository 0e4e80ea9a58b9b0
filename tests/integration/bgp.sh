#!/bin/bash
# One node's BGP in detail (the fleet lab with one node, IPv4 and IPv6):
#   - a bgp object with errors is refused, every error on its JSON path;
#   - IPv4 and IPv6 VIPs announced over their own sessions, the node's own
#     addresses as next hops; the generated BIRD configuration on disk;
#   - a refresh adding or removing a frontend adds or removes its route;
#   - SIGHUP with a broken bgp object: refused, the session not even touched;
#     with a new holdTime: BIRD reconfigured;
#   - BIRD killed: started again by the controller, routes back;
#   - the controller killed and restarted: BIRD kept (same process), the
#     route never withdrawn meanwhile;
#   - an operator's BIRD: the routes file written, `configure` sent, drain and
#     SIGTERM withdraw through it, that BIRD left running;
#   - the bgp object removed by SIGHUP: our BIRD stopped, routes withdrawn.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export FLEET_P="tnbg$(($$ % 10000))" FLEET_NODES=1 FLEET_SERVERS=1 FLEET_CLIENTS=2 FLEET_V6=1
export FLEET_TENACE="$TN_BIN"
. "$TN_ROOT/scripts/fleet.sh"
D="$FLEET_DIR/n1"
CFG="$D/tenace.json"
LOG="$D/controller.log"
OPS="$FLEET_DIR/ops"
WATCH_PID=""

cleanup() {
	trap - EXIT
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	if [ "$_tap_failed" -gt 0 ] && [ -s "$LOG" ]; then
		echo "# --- controller log (last 40 lines)"
		tail -n 40 "$LOG" | sed 's/^/# /'
	fi
	[ -f "$OPS/bird.pid" ] && kill "$(cat "$OPS/bird.pid")" 2>/dev/null
	fleet_down >/dev/null 2>&1
}
trap cleanup EXIT

nj() { fleet_tn 1 -j "$@" 2>/dev/null; }
bird_pid() { nj node | jq -r '.bgp.bird.pid // empty'; }
sessions() { nj node | jq -r '[.bgp.sessions[] | "\(.neighbor)=\(.state)"] | sort | join(" ")'; }
both_up() { [ "$(sessions)" = "$FLEET_ROUTER=Established $FLEET_ROUTER6=Established" ]; }
v4_is() { [ "$(fleet_nexthops)" = "$1" ]; }
v6_is() { [ "$(fleet_nexthops6)" = "$1" ]; }
# set_bgp JQ: rewrite the bgp object of the configuration file
set_bgp() { jq "$1" "$CFG" >"$CFG.new" && mv "$CFG.new" "$CFG"; }
hup() { kill -HUP "$(fleet_node_ctl_pid 1)"; }

# ---- a broken bgp object is refused with its paths ---------------------------------------
mkdir -p "$FLEET_DIR/bad"
cat >"$FLEET_DIR/bad/tenace.json" <<'JSON'
{ "interfaces": ["eth0"],
  "bgp": { "localAs": 65010, "holdTime": 2, "announce": "sometimes",
           "neighbors": [{ "address": "fe80::1", "remoteAs": 65000 }] } }
JSON
out=$("$TN_BIN" run --config "$FLEET_DIR/bad/tenace.json" --socket "$FLEET_DIR/bad/s.sock" --pin-dir "" 2>&1)
rc=$?
check_eq "tenace run refuses a broken bgp object (exit status)" 1 "$rc"
check "bgp.holdTime named with its rule" grep -q 'bgp.holdTime: must be 3..65535, got 2' <<<"$out"
check "bgp.announce named with its rule" grep -q 'bgp.announce: must be "healthy" or "always", got "sometimes"' <<<"$out"
check "bgp.neighbors[0].address named with its rule" \
	grep -q 'bgp.neighbors\[0\].address: must be a unicast address' <<<"$out"

# ---- one node, IPv4 and IPv6 ------------------------------------------------------------
fleet_up || { not_ok "build the fleet lab"; tap_done; exit 1; }
lab_server_start 1
mkdir -p "$D"
fleet_config "$CFG"
fleet_node_start 1
if wait_for 60 v4_is "$(fleet_node_addr 1)" && wait_for 20 v6_is "$(fleet_node_addr6 1)"; then
	ok "the router learned $FLEET_VIP via $(fleet_nexthops) and $FLEET_VIP6 via $(fleet_nexthops6)"
else
	not_ok "both VIPs announced (IPv4 via '$(fleet_nexthops)', IPv6 via '$(fleet_nexthops6)')"
fi
wait_for 20 both_up
check_eq "one session per family, both established" "$FLEET_ROUTER=Established $FLEET_ROUTER6=Established" "$(sessions)"
check_eq "status: both prefixes announced" "$FLEET_VIP/32,$FLEET_VIP6/128" "$(nj node | jq -r '.bgp.announced | join(",")')"
check "the generated BIRD configuration: hold time 3, keepalive 1, no graceful restart" \
	grep -qzE 'hold time 3;.*keepalive time 1;.*graceful restart off;' "$D/bird.conf"
check "BIRD's routes file holds the two blackhole routes" \
	bash -c "grep -q 'route $FLEET_VIP/32 blackhole;' $D/bird-routes.conf && grep -q 'route $FLEET_VIP6/128 blackhole;' $D/bird-routes.conf"
check "BIRD's socket, pid file and configuration are beside the state file" \
	bash -c "test -S $D/bird.ctl && test -s $D/bird.pid && test -s $D/bird.conf"
check "the router's session with the node does not offer graceful restart to keep routes" \
	bash -c "! birdc -s $FLEET_DIR/rt/bird.ctl show protocols all n1 | sed -n '/Neighbor capabilities/,/Session/p' | grep -q 'Graceful restart'"

# ---- a refresh that adds or removes a frontend adds or removes its route ----------------------
VIP2="$FLEET_NET.100.2"
has_vip2() { [ -n "$(ip -n "$FLEET_P-rt" route show "$VIP2/32")" ]; }
fleet_tn 1 frontend add --id 9 --vip "$VIP2" --port 80 --farm 1 >/dev/null
sleep 1
check "a staged frontend is not announced before the refresh" bash -c "[ -z \"\$(ip -n $FLEET_P-rt route show $VIP2/32)\" ]"
fleet_tn 1 refresh --wait >/dev/null
check "refresh adding a frontend on $VIP2: announced" wait_for 10 has_vip2
fleet_tn 1 frontend del 9 >/dev/null
fleet_tn 1 refresh --wait >/dev/null
check "refresh removing it: withdrawn" wait_for 10 bash -c "[ -z \"\$(ip -n $FLEET_P-rt route show $VIP2/32)\" ]"
check_eq "the other VIP stays announced" "$(fleet_node_addr 1)" "$(fleet_nexthops)"

# ---- SIGHUP: a broken bgp object changes nothing; a new hold time reconfigures BIRD ----------
pid0=$(bird_pid)
since0=$(nj node | jq '.bgp.sessions[0].since')
cp "$CFG" "$D/good.json"
set_bgp '.bgp.holdTime = 1'
hup
wait_for 10 grep -q "rejected $CFG" "$LOG"
check "SIGHUP: the broken bgp object is rejected with its path" grep -q 'bgp.holdTime: must be 3..65535, got 1' "$LOG"
sleep 1.5
check_eq "SIGHUP rejected: the same BIRD, the session never restarted" "$pid0 $since0" \
	"$(bird_pid) $(nj node | jq '.bgp.sessions[0].since')"
cp "$D/good.json" "$CFG"
set_bgp '.bgp.holdTime = 6'
hup
check "SIGHUP with holdTime 6: BIRD's configuration rewritten" wait_for 10 grep -q 'hold time 6;' "$D/bird.conf"
reneg() { birdc -s "$FLEET_DIR/rt/bird.ctl" show protocols all n1 | grep -qE 'Hold timer: +[0-9.]+/6'; }
check "the session renegotiated a 6 s hold time" wait_for 20 reneg
check_eq "the same BIRD process" "$pid0" "$(bird_pid)"
wait_for 20 v4_is "$(fleet_node_addr 1)"

# ---- BIRD killed: the controller starts it again ------------------------------------------
kill -KILL "$pid0"
respawned() { p=$(bird_pid); [ -n "$p" ] && [ "$p" != "$pid0" ] && [ "$(nj node | jq .bgp.bird.restarts)" = 1 ]; }
check "BIRD killed: started again by the controller (restarts 1)" wait_for 20 respawned
check "BIRD killed: the route back" wait_for 20 v4_is "$(fleet_node_addr 1)"
check "the log says BIRD was killed" grep -q 'BIRD was killed by signal 9' "$LOG"
wait_for 20 both_up

# ---- the controller killed and restarted: BIRD kept, the route never withdrawn ---------------
pid1=$(bird_pid)
(while :; do fleet_nexthops; echo; sleep 0.05; done >"$FLEET_DIR/watch.txt") &
WATCH_PID=$!
sleep 0.3
ctl=$(fleet_node_ctl_pid 1)
kill -KILL "$ctl"
wait "$ctl" 2>/dev/null
sleep 2
check "controller killed: its BIRD still runs" kill -0 "$pid1"
fleet_node_start 1
wait_for 30 bash -c "$FLEET_TENACE --socket $(fleet_sock 1) -j node >/dev/null 2>&1"
sleep 3
kill "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null
WATCH_PID=""
check "the restarted controller took BIRD over" grep -q "taking over BIRD (pid $pid1)" "$LOG"
check_eq "the same BIRD process after the restart" "$pid1" "$(bird_pid)"
n=$(grep -c . "$FLEET_DIR/watch.txt")
gone=$(grep -cvx "$(fleet_node_addr 1)" "$FLEET_DIR/watch.txt")
check_eq "the router kept the route throughout ($n samples, every 50 ms)" 0 "$gone"

# ---- an operator's BIRD --------------------------------------------------------------------
mkdir -p "$OPS"
: >"$OPS/tenace-routes.conf"
cat >"$OPS/bird.conf" <<CONF
# the operator's BIRD: its own session; Tenace's routes come from the include
log stderr all;
protocol device {
}
include "$OPS/tenace-routes.conf";
protocol bgp up4 {
	local as $FLEET_AS_NODES;
	neighbor $FLEET_ROUTER as $FLEET_AS_ROUTER;
	hold time 3;
	connect delay time 1;
	connect retry time 1;
	ipv4 { import none; export where proto = "tenace4"; next hop self; };
}
CONF
ctl=$(fleet_node_ctl_pid 1)
kill -TERM "$ctl"
wait "$ctl"
check_eq "SIGTERM: the controller exits with status 0" 0 "$?"
check "SIGTERM: withdrawn" wait_for 10 v4_is ""
check "SIGTERM: our BIRD (taken over, not our child) stopped" wait_for 10 bash -c "! kill -0 $pid1 2>/dev/null"
fleet_ns n1 bird -c "$OPS/bird.conf" -s "$OPS/bird.ctl" -P "$OPS/bird.pid" 2>>"$OPS/bird.log"
set_bgp ".bgp = {\"announce\": \"healthy\", \"bird\": {\"socket\": \"$OPS/bird.ctl\", \"include\": \"$OPS/tenace-routes.conf\"}}"
fleet_node_start 1
check "an operator's BIRD: the VIP announced through it" wait_for 30 v4_is "$(fleet_node_addr 1)"
# the controller reads BIRD's sessions every few seconds: its status may lag the router by one read
ops_session() { nj node | jq -r '"\(.bgp.bird.mode) \(.bgp.sessions | map("\(.protocol)=\(.state)") | join(" "))"'; }
for _ in $(seq 1 20); do [ "$(ops_session)" = "operator up4=Established" ] && break; sleep 0.5; done
check_eq "status: the operator's BIRD, its session" "operator up4=Established" "$(ops_session)"
check "the routes file holds the route" grep -q "route $FLEET_VIP/32 blackhole;" "$OPS/tenace-routes.conf"
check "no BIRD of Tenace's own was started" bash -c "! test -S $D/bird.ctl || ! birdc -s $D/bird.ctl show status >/dev/null 2>&1"
fleet_tn 1 node drain >/dev/null
check "drain through the operator's BIRD: withdrawn" wait_for 10 v4_is ""
fleet_tn 1 node resume >/dev/null
check "resume: announced again" wait_for 10 v4_is "$(fleet_node_addr 1)"
ctl=$(fleet_node_ctl_pid 1)
kill -TERM "$ctl"
wait "$ctl"
check "SIGTERM: withdrawn through the operator's BIRD" wait_for 10 v4_is ""
check "SIGTERM: the operator's BIRD keeps running" kill -0 "$(cat "$OPS/bird.pid")"
check "SIGTERM: the routes file emptied" bash -c "! grep -q 'route ' $OPS/tenace-routes.conf"
kill "$(cat "$OPS/bird.pid")"

# ---- the bgp object removed: our BIRD stopped ---------------------------------------------------
cp "$D/good.json" "$CFG"
fleet_node_start 1
check "our own BIRD again: announced" wait_for 30 v4_is "$(fleet_node_addr 1)"
pid2=$(bird_pid)
set_bgp 'del(.bgp)'
hup
check "SIGHUP without a bgp object: the route withdrawn" wait_for 10 v4_is ""
check "SIGHUP without a bgp object: BIRD stopped" wait_for 10 bash -c "! kill -0 $pid2 2>/dev/null"
check_eq "status: no bgp" "null" "$(nj node | jq -c .bgp)"
ctl=$(fleet_node_ctl_pid 1)
kill -TERM "$ctl"
wait "$ctl"
check_eq "the controller stops with status 0" 0 "$?"
pat='ERROR: (Address|Leak)Sanitizer|runtime error'
if grep -qE "$pat" "$LOG"; then not_ok "no sanitizer report"; grep -E -A20 "$pat" "$LOG" | head -n 40 | sed 's/^/# /'
else ok "no sanitizer report"; fi
tap_done
