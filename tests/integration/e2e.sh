#!/bin/bash
# End to end (issue 6): real HTTP traffic through Tenace in the lab (a client
# namespace with many addresses, the balancer, three nginx servers holding the
# VIP, direct server return), from 50 IPv4 and 10 IPv6 client addresses (one
# curl loop each, a new connection per request) plus wrk from the client's
# primary address (keep-alive connections):
#   - zero failed requests during 100 refreshes that change weights;
#   - zero failed requests during a drain (weight 0): tracked clients stay,
#     new clients go elsewhere;
#   - a killed server costs only the requests in flight to it: no failure once
#     the probe has marked it down, nobody else affected;
#   - IPv6 VIP and servers end to end;
#   - SIGKILL of the controller and a restart: forwarding never stops and
#     tracked clients keep their servers;
#   - a rejected configuration (SIGHUP with a broken file) changes nothing.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tne2e$(($$ % 10000))" LAB_CLIENTS=70
. "$TN_ROOT/scripts/lab.sh"

RUN="$LAB_DIR/run"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
CTL_PID=""
LOAD_PID=""
WRK_PID=""
NV4=50  # IPv4 client addresses with a curl loop (1..50); 51..70 stay new
NV6=10  # IPv6 client addresses with a curl loop
WRK_SRC="$LAB_NET.0.9"

cleanup() {
	trap - EXIT
	# shellcheck disable=SC2086
	[ -n "$LOAD_PID" ] && { touch "$RUN/stop"; wait $LOAD_PID 2>/dev/null; }
	[ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null
	ctl_stop
	lab_down >/dev/null 2>&1
}
trap cleanup EXIT

state_is() { [ "$(srv "$1" "$2" .state)" = "$3" ]; }
all_up() { for s in 1 2 3; do state_is 1 "$s" up && state_is 2 "$s" up || return 1; done; }
# the controller: nsenter itself (not the lab_netns function, which would run
# in a subshell) so that $! is the controller's pid and signals reach it
ctl_start() {
	nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" 2>>"$LOG" &
	CTL_PID=$!
	wait_for 20 tn -j status >/dev/null 2>&1
}
# log_time PATTERN: epoch seconds of the last controller log line matching PATTERN
log_time() { date -d "$(grep -E "$1" "$LOG" | tail -n1 | awk '{print $1}')" +%s.%N 2>/dev/null; }

# ---- load ---------------------------------------------------------------------------------
# One loader process in the client namespace runs a client loop per address
# (tests/integration/helpers/http_loader.py: a new connection per request);
# each line of $dir/c<N> (IPv4 client N) or $dir/v<N> (IPv6) is
# "START END server K" or "START END fail" (CLOCK_REALTIME seconds).
LOADER="$TN_ROOT/tests/integration/helpers/http_loader.py"
write_loader() {
	echo 'function delay() return 2 end' >"$RUN/pace.lua"
}
# load_start NAME [wrk]: start the loops (and wrk) into $RUN/NAME
load_start() {
	local d="$RUN/$1" i specs4=() specs6=()
	mkdir -p "$d"
	rm -f "$RUN/stop"
	for i in $(seq 1 "$NV4"); do specs4+=("c$i=$LAB_NET.1.$i"); done
	for i in $(seq 1 "$NV6"); do specs6+=("v$i=$LAB_NET6::1:$i"); done
	ip netns exec "$LAB_P-cli" python3 "$LOADER" "$d" "$RUN/stop" 0.4 "$LAB_VIP" 80 "${specs4[@]}" &
	LOAD_PID=$!
	ip netns exec "$LAB_P-cli" python3 "$LOADER" "$d" "$RUN/stop" 0.4 "[$LAB_VIP6]" 80 "${specs6[@]}" &
	LOAD_PID="$LOAD_PID $!"
	if [ "${2:-}" = wrk ]; then
		# paced (2 ms between requests on each of 4 connections) so that it
		# leaves CPU to the controller on a small machine
		ip netns exec "$LAB_P-cli" wrk -t1 -c4 -d600s --timeout 3s -s "$RUN/pace.lua" "http://$LAB_VIP/" >"$d/wrk.out" 2>&1 &
		WRK_PID=$!
	fi
	LOAD_DIR="$d"
	# every loop has answers before anything happens
	wait_for 20 all_answered "$d"
}
# all_answered DIR: every client has at least one answer
all_answered() {
	local f
	for f in "$1"/c* "$1"/v*; do
		grep -q ' server ' "$f" 2>/dev/null || return 1
	done
	[ "$(ls "$1" | grep -c '^[cv][0-9]')" -eq $((NV4 + NV6)) ]
}
load_stop() {
	touch "$RUN/stop"
	# shellcheck disable=SC2086
	wait $LOAD_PID 2>/dev/null
	LOAD_PID=""
	if [ -n "$WRK_PID" ]; then
		kill -INT "$WRK_PID" 2>/dev/null
		wait "$WRK_PID" 2>/dev/null
		WRK_PID=""
	fi
}
requests() { cat "$LOAD_DIR"/[cv]* | wc -l; }
# load_until N: wait (bounded) until every client has made N requests in this load
every_client_made() {
	local f
	for f in "$LOAD_DIR"/[cv]*; do [ "$(wc -l <"$f")" -ge "$1" ] || return 1; done
}
load_until() { wait_for 120 every_client_made "$1"; }
failures() { cat "$LOAD_DIR"/[cv]* | grep -c ' fail$'; }
# clients answered by more than one server (or by none)
unsticky() {
	local f n=0
	for f in "$LOAD_DIR"/[cv]*; do
		[ "$(awk '$3 == "server" {print $4}' "$f" | sort -u | wc -l)" -eq 1 ] || n=$((n + 1))
	done
	echo "$n"
}
# server FILE: the first server that answered this client
first_server() { awk '$3 == "server" {print $4; exit}' "$1"; }
# wrk_result: "REQUESTS ERRORS" from wrk's summary (errors: socket errors + non-2xx)
wrk_result() {
	local f="$LOAD_DIR/wrk.out"
	local n e
	n=$(awk '/requests in/ {print $1}' "$f")
	e=$(awk '/Socket errors/ {gsub(",", ""); s = $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}' "$f")
	echo "${n:-0} $e"
}
check_load() { # NAME: zero failures, every client sticky, wrk clean
	local n f w
	n=$(requests)
	f=$(failures)
	if [ "$n" -ge $((5 * (NV4 + NV6))) ] && [ "$f" -eq 0 ]; then ok "$1: 0 failed of $n requests from $((NV4 + NV6)) client addresses"; else not_ok "$1: 0 failed requests (got $f failed of $n)"; fi
	check_eq "$1: every client kept its server" 0 "$(unsticky)"
	if [ -f "$LOAD_DIR/wrk.out" ]; then
		w=$(wrk_result)
		if [ "${w% *}" -gt 100 ] && [ "${w#* }" -eq 0 ]; then ok "$1: wrk: ${w% *} requests, 0 errors"; else not_ok "$1: wrk: 0 errors (requests errors: $w)"; sed 's/^/# /' "$LOAD_DIR/wrk.out"; fi
	fi
}

# ---- the lab and the controller -------------------------------------------------------------
ensure_bpffs
lab_up || { not_ok "build the lab"; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
mkdir -p "$RUN"
write_loader
cat >"$CFG" <<JSON
{
  "zone": "e2e",
  "interfaces": ["eth0"],
  "hashSeed": 11,
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web4", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 1, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr 1)", "weight": 1 },
      { "serverId": 2, "address": "$(lab_server_addr 2)", "weight": 1 },
      { "serverId": 3, "address": "$(lab_server_addr 3)", "weight": 1 }
    ]
  }, {
    "farmId": 2, "type": "tcp", "displayName": "web6", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 1, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr6 1)", "weight": 1 },
      { "serverId": 2, "address": "$(lab_server_addr6 2)", "weight": 1 },
      { "serverId": 3, "address": "$(lab_server_addr6 3)", "weight": 1 }
    ]
  }],
  "frontends": [
    { "frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1 },
    { "frontendId": 2, "type": "tcp", "vip": ["$LAB_VIP6"], "port": "80", "defaultFarmId": 2 }
  ]
}
JSON
if ctl_start && wait_for 20 all_up; then
	ok "controller started; IPv4 and IPv6 servers up by their http probes"
else
	not_ok "controller started; IPv4 and IPv6 servers up by their http probes"
	exit 1
fi

# ---- IPv6 end to end ------------------------------------------------------------------------
v6a=$(lab_ns cli bash -c 'for i in $(seq 1 '"$NV6"'); do curl -6 -sf --max-time 2 --interface '"$LAB_NET6"'::1:$i "http://['"$LAB_VIP6"']/" || echo fail; done')
v6b=$(lab_ns cli bash -c 'for i in $(seq 1 '"$NV6"'); do curl -6 -sf --max-time 2 --interface '"$LAB_NET6"'::1:$i "http://['"$LAB_VIP6"']/" || echo fail; done')
check_eq "IPv6: $NV6 clients of [$LAB_VIP6]:80 all answered" "$NV6" "$(grep -c '^server [123]$' <<<"$v6a")"
check_eq "IPv6: each client answered by the same server twice" "$v6a" "$v6b"
n6=$(sort -u <<<"$v6a" | wc -l)
if [ "$n6" -ge 2 ]; then ok "IPv6: clients spread over $n6 servers"; else not_ok "IPv6: clients spread over several servers (got $n6)"; fi
# the IPv6 servers' MACs resolved by NDP, counters on the IPv6 VIP
check_eq "IPv6: farm 2 up with 3 servers" "up 3" "$(tn -j status | jq -r '.farms[] | select(.farmId == 2) | "\(.state) \(.serversUp)"')"
sleep 1.1
p6=$(tn -j stats | jq --arg v "$LAB_VIP6" '[.vips[] | select(.vip == $v) | .packets] | add // 0')
if [ "$p6" -gt 0 ]; then ok "IPv6: stats count $p6 packets on the IPv6 VIP"; else not_ok "IPv6: stats count packets on the IPv6 VIP"; fi

# ---- 100 refreshes under load ----------------------------------------------------------------
load_start refresh wrk
WRK_SERVER=$(lab_ns cli curl -s --max-time 2 --interface "$WRK_SRC" "http://$LAB_VIP/" | awk '{print $2}')
refreshed=0
t_start=$SECONDS
for i in $(seq 0 99); do
	s=$((i % 3 + 1))
	w=$((1 + (i / 3) % 4))
	t0=$EPOCHREALTIME
	tn server set 1 "$s" --weight "$w" >/dev/null && tn refresh --wait 2>&1 | grep -q ': done' && refreshed=$((refreshed + 1))
	echo "$t0 $EPOCHREALTIME" >>"$RUN/refresh-times"
done
rmed=$(awk '{print $2 - $1}' "$RUN/refresh-times" | sort -n | awk '{v[NR] = $1} END {printf "%.2f", v[int((NR + 1) / 2)]}')
t_refresh=$((SECONDS - t_start))
sleep 1
load_stop
check_eq "100 refreshes done (each changes one server's weight), in ${t_refresh} s (set + refresh --wait: median ${rmed} s)" 100 "$refreshed"
# i = 97, 98, 99 set servers 2, 3, 1 to weights 1, 1, 2
check_eq "the last weights are applied" "2 1 1" "$(srv 1 1 .weight) $(srv 1 2 .weight) $(srv 1 3 .weight)"
check_load "during 100 refreshes"
REFRESH_DIR="$LOAD_DIR"

# ---- drain: weight 0 ---------------------------------------------------------------------------
# the server of the most loop clients, not wrk's
D=$(for f in "$REFRESH_DIR"/c*; do first_server "$f"; done | grep -v "^$WRK_SERVER\$" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
load_start drain wrk
tn server set 1 "$D" --weight 0 >/dev/null && tn refresh --wait >/dev/null
check_eq "server $D drains (weight 0)" drain "$(srv 1 "$D" .state)"
sleep 3
# new clients (addresses never used) while the drain runs
lab_ns cli bash -c 'for i in $(seq '"$((NV4 + 1)) $LAB_CLIENTS"'); do curl -sf --max-time 2 --interface '"$LAB_NET"'.1.$i http://'"$LAB_VIP"'/ || echo fail; done' >"$RUN/drain-new"
load_stop
check_load "during the drain of server $D"
tracked=0
kept=0
for f in "$LOAD_DIR"/c*; do
	[ "$(first_server "$f")" = "$D" ] || continue
	tracked=$((tracked + 1))
	[ "$(awk '$3 == "server" {print $4}' "$f" | sort -u)" = "$D" ] && kept=$((kept + 1))
done
if [ "$tracked" -ge 1 ] && [ "$kept" -eq "$tracked" ]; then ok "drain: the $tracked tracked clients of server $D are still served by it"; else not_ok "drain: tracked clients of server $D still served by it ($kept of $tracked)"; fi
nnew=$(grep -c '^server [123]$' "$RUN/drain-new")
ond=$(grep -c "^server $D\$" "$RUN/drain-new")
check_eq "drain: $((LAB_CLIENTS - NV4)) new clients answered" "$((LAB_CLIENTS - NV4))" "$nnew"
check_eq "drain: no new client goes to server $D" 0 "$ond"
tn server set 1 "$D" --weight 1 >/dev/null && tn refresh --wait >/dev/null

# ---- a killed server costs only the requests in flight to it -------------------------------------
K=$D
load_start kill wrk
t_kill=$EPOCHREALTIME
lab_server_stop "$K"
wait_for 10 state_is 1 "$K" down
t_down=$(log_time "tcp farm 1 server $K $(lab_server_addr "$K"):80 down")
sleep 2.5
load_stop
lab_server_start "$K"
if [ -n "$t_down" ]; then
	ok "server $K marked down $(awk -v a="$t_kill" -v b="$t_down" 'BEGIN {printf "%.2f", b - a}') s after the kill"
else
	not_ok "server $K marked down (log line)"
	t_down=$t_kill
fi
victims=0
bad_fail=0
late_fail=0
others_moved=0
not_moved=0
inflight=0
for f in "$LOAD_DIR"/c*; do
	first=$(first_server "$f")
	if [ "$first" = "$K" ]; then
		victims=$((victims + 1))
		# failures must have started before the swap (+0.2 s for the request already sent)
		late_fail=$((late_fail + $(awk -v t="$t_down" '$3 == "fail" && $1 > t + 0.2' "$f" | wc -l)))
		inflight=$((inflight + $(grep -c ' fail$' "$f")))
		last=$(awk '$3 == "server" {s = $4} END {print s}' "$f")
		[ "$last" != "$K" ] || not_moved=$((not_moved + 1))
	else
		bad_fail=$((bad_fail + $(grep -c ' fail$' "$f")))
		[ "$(awk '$3 == "server" {print $4}' "$f" | sort -u)" = "$first" ] || others_moved=$((others_moved + 1))
	fi
done
check_eq "kill: no failure for the clients of other servers" 0 "$bad_fail"
check_eq "kill: no client of another server moved" 0 "$others_moved"
lastf=$(cat "$LOAD_DIR"/c* | awk -v t="$t_down" '$3 == "fail" {d = $1 - t; if (!n++ || d > m) m = d} END {if (n) printf "%+.2f", m; else print "none"}')
check_eq "kill: no failure started after server $K was marked down ($inflight failed, of $victims clients; the last started ${lastf} s from the mark)" 0 "$late_fail"
check_eq "kill: all $victims clients of server $K moved" 0 "$not_moved"
t_down6=$(log_time "tcp farm 2 server $K \\[?$(lab_server_addr6 "$K")\\]?:80 down")
v6fail=$(cat "$LOAD_DIR"/v* | awk -v t="${t_down6:-$t_down}" '$3 == "fail" && $1 > t + 0.2' | wc -l)
check_eq "kill: IPv6 clients: no failure after the IPv6 server was marked down" 0 "$v6fail"
w=$(wrk_result)
if [ "${w% *}" -gt 100 ] && [ "${w#* }" -eq 0 ]; then ok "kill: wrk (on server $WRK_SERVER): ${w% *} requests, 0 errors"; else not_ok "kill: wrk: more than 100 requests, 0 errors (requests errors: $w)"; fi
wait_for 10 all_up

# ---- SIGKILL the controller, restart it ---------------------------------------------------------
load_start sigkill wrk
gen0=$(tn -j status | jq -c '[.farms[] | .slot]')
kill -KILL "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
CTL_PID=""
sleep 2
if tn -j status >/dev/null 2>&1; then not_ok "the controller is gone after SIGKILL"; else ok "the controller is gone after SIGKILL"; fi
check "the killed controller left its socket file behind" test -S "$SOCK"
if ctl_start && wait_for 20 all_up; then ok "controller restarted over the stale socket and the pinned maps"; else not_ok "controller restarted over the stale socket and the pinned maps"; fi
check "log: the restarted controller took over the farm slots" grep -qE 'took over [0-9]+ farm slots' "$LOG"
check_eq "the same farm slots after the restart" "$gen0" "$(tn -j status | jq -c '[.farms[] | .slot]')"
sleep 2
load_until 8
load_stop
check_load "across SIGKILL and restart of the controller"

# ---- SIGHUP with a broken configuration ------------------------------------------------------------
cp "$CFG" "$RUN/good.json"
gen1=$(tn -j status | jq -c '[.farms[] | .generation]')
load_start sighup
cat >"$CFG" <<'JSON'
{ "zone": "e2e", "interfaces": ["eth0"],
  "farms": [{ "farmId": 1, "type": "tcp", "servers": [{ "serverId": 1, "address": "10.99.0.11", "weight": 300 }] }],
  "frontends": [{ "frontendId": 1, "type": "tcp", "vip": ["not-an-address"], "defaultFarmId": 9 }] }
JSON
kill -HUP "$CTL_PID"
wait_for 5 grep -q 'rejected' "$LOG"
sleep 2
load_until 6
load_stop
cp "$RUN/good.json" "$CFG"
check "SIGHUP: the broken file is rejected with its errors" grep -qE 'rejected .*: [0-9]+ errors?, nothing changed' "$LOG"
check "SIGHUP: the weight error names its path" grep -qE 'farms\[0\]\.servers\[0\]\.weight' "$LOG"
check_eq "SIGHUP: the tables did not change" "$gen1" "$(tn -j status | jq -c '[.farms[] | .generation]')"
check_load "after the rejected configuration"
answers() { tn -j status >/dev/null 2>&1; }
check "the controller still answers" answers

# ---- clean stop ---------------------------------------------------------------------------------------
ctl_stop_clean "$LOG"
tap_done
