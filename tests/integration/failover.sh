#!/bin/bash
# Health probes end to end (issue 5): the lab (client with many addresses,
# balancer, three nginx servers holding the VIP), the controller with an
# http probe (interval 0.5 s, fall 2, rise 2). A server killed under traffic
# loses its clients to the others within the bound, nobody else moves, the
# log and the status say why; it comes back and nobody moves back; backups
# take over only when every primary is down; all down drops and reports; a
# tcp probe finds a closed port.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tnfo$(($$ % 10000))" LAB_CLIENTS=50
. "$TN_ROOT/scripts/lab.sh"

RUN="$LAB_DIR/run"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
CTL_PID=""
TRACKED=30 # clients 1..30 are used from the start; 31..50 are new clients later

cleanup() {
	trap - EXIT
	[ -n "${PROBE_PID:-}" ] && kill "$PROBE_PID" 2>/dev/null
	ctl_stop
	lab_down >/dev/null 2>&1
}
trap cleanup EXIT

farm_state() { tn -j status 2>/dev/null | jq -r --argjson f "$1" '.farms[] | select(.farmId == $f) | .state'; }
state_is() { [ "$(srv 1 "$1" .state)" = "$2" ]; }
all_up() { for s in "$@"; do state_is "$s" up || return 1; done; }

# snapshot FILE FIRST LAST: "client server" per client ("-" when unanswered),
# every request on a new connection, all from one shell in the client namespace
snapshot() {
	lab_ns cli bash -c '
		for i in $(seq '"$2 $3"'); do
			r=$(curl -s --max-time 1 --interface '"$LAB_NET"'.1.$i http://'"$LAB_VIP"'/)
			case "$r" in "server "*) echo "$i ${r#server }" ;; *) echo "$i -" ;; esac
		done' >"$1"
}
# clients_of FILE SERVER: the clients answered by SERVER
clients_of() { awk -v s="$2" '$2 == s {print $1}' "$1"; }
count_of() { awk -v s="$2" '$2 == s' "$1" | wc -l; }
# moved A B: clients whose server differs between snapshots A and B
moved() { paste "$1" "$2" | awk '$2 != $4' | wc -l; }

ensure_bpffs
lab_up || { not_ok "build the lab"; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
mkdir -p "$RUN"
cat >"$CFG" <<JSON
{
  "zone": "fo",
  "interfaces": ["eth0"],
  "hashSeed": 7,
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr 1)", "weight": 1 },
      { "serverId": 2, "address": "$(lab_server_addr 2)", "weight": 1 },
      { "serverId": 3, "address": "$(lab_server_addr 3)", "weight": 1 }
    ]
  }],
  "frontends": [{ "frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1 }]
}
JSON
# nsenter itself (not the lab_netns function, which would run in a subshell)
# so that $! is the controller's pid and signals reach it
nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" 2>"$LOG" &
CTL_PID=$!
if wait_for 20 test -S "$SOCK" && wait_for 20 all_up 1 2 3; then
	ok "controller started, the three servers are up by their http probe"
else
	not_ok "controller started, the three servers are up by their http probe"
	exit 1
fi

# ---- 1. kill a server under traffic ---------------------------------------------------
snapshot "$RUN/a" 1 "$TRACKED"
check_eq "every client answered before the failure" 0 "$(count_of "$RUN/a" -)"
VICTIM=2
victims=$(clients_of "$RUN/a" "$VICTIM" | tr '\n' ' ')
nv=$(echo "$victims" | wc -w)
if [ "$nv" -ge 2 ]; then ok "server $VICTIM has clients ($nv of $TRACKED)"; else not_ok "server $VICTIM has clients ($nv of $TRACKED)"; fi
first=$(echo "$victims" | awk '{print $1}')

# traffic: one victim client asks every 50 ms, with its time ($EPOCHREALTIME)
lab_ns cli bash -c '
	while :; do
		r=$(curl -s --max-time 0.5 --interface '"$LAB_NET"'.1.'"$first"' http://'"$LAB_VIP"'/)
		echo "$EPOCHREALTIME ${r:-fail}"
		sleep 0.05
	done' >"$RUN/trace" 2>/dev/null &
PROBE_PID=$!
sleep 1
t_kill=$EPOCHREALTIME
lab_server_stop "$VICTIM"
wait_for 10 state_is "$VICTIM" down
sleep 1.5
kill "$PROBE_PID" 2>/dev/null
wait "$PROBE_PID" 2>/dev/null
PROBE_PID=""
# the time of the first answer by another server, after which no failure
took=$(awk -v t0="$t_kill" -v v="server $VICTIM" '
	$1 >= t0 { r = substr($0, index($0, " ") + 1); if (r != v && r != "fail") { if (!moved_at) moved_at = $1 } else moved_at = 0 }
	END { if (moved_at) printf "%.2f", moved_at - t0; else print "never" }' "$RUN/trace")
before=$(awk -v t0="$t_kill" -v v="server $VICTIM" '$1 < t0 && $2 " " $3 == v' "$RUN/trace" | wc -l)
if [ "$before" -ge 5 ]; then ok "client $first answered by server $VICTIM under traffic before the kill"; else not_ok "client $first answered by server $VICTIM under traffic before the kill ($before answers)"; fi
if [ "$took" != never ] && awk -v t="$took" 'BEGIN { exit !(t <= 3.0) }'; then
	ok "client $first moved ${took} s after the kill (interval 0.5 s x fall 2; bound 3 s)"
else
	not_ok "client $first moved within 3 s of the kill (took: $took)"
	tail -n 60 "$RUN/trace" | sed 's/^/# /'
fi
snapshot "$RUN/b" 1 "$TRACKED"
others=$(paste "$RUN/a" "$RUN/b" | awk -v v="$VICTIM" '$2 != v && $2 != $4' | wc -l)
vmoved=$(paste "$RUN/a" "$RUN/b" | awk -v v="$VICTIM" '$2 == v && $4 != v && $4 != "-"' | wc -l)
check_eq "every client of server $VICTIM moved to another server" "$nv" "$vmoved"
check_eq "no client of another server moved" 0 "$others"
line=$(grep -E "tcp farm 1 server $VICTIM $(lab_server_addr "$VICTIM"):80 down: .+" "$LOG" | tail -n1)
if [ -n "$line" ]; then ok "log: transition line with farm, server, address and reason: ${line#*warn  }"; else not_ok "log: transition line 'tcp farm 1 server $VICTIM $(lab_server_addr "$VICTIM"):80 down: REASON'"; fi
st=$(srv 1 "$VICTIM" '"\(.state) \(.health) \(.lastError)"')
case "$st" in
"down down null" | "down down ") not_ok "status -j: server $VICTIM down with its last error (got: $st)" ;;
"down down "*) ok "status -j: server $VICTIM down with its last error (${st#down down })" ;;
*) not_ok "status -j: server $VICTIM down with its last error (got: $st)" ;;
esac
check_eq "status -j: farm 1 still up with 2 servers" "up 2" "$(tn -j status | jq -r '.farms[0] | "\(.state) \(.serversUp)"')"

# ---- 2. it comes back: nobody moves back, new clients may use it ------------------------
lab_server_start "$VICTIM"
if wait_for 10 state_is "$VICTIM" up; then ok "status: server $VICTIM up again after rise 2"; else not_ok "status: server $VICTIM up again (state: $(srv 1 "$VICTIM" .state))"; fi
check "log: server $VICTIM up line" grep -qE "tcp farm 1 server $VICTIM $(lab_server_addr "$VICTIM"):80 up: .*\(2/2\)" "$LOG"
check_eq "status -j: server $VICTIM health up" up "$(srv 1 "$VICTIM" .health)"
snapshot "$RUN/c" 1 "$TRACKED"
check_eq "0 tracked clients moved back when server $VICTIM came back" 0 "$(moved "$RUN/b" "$RUN/c")"
snapshot "$RUN/new" $((TRACKED + 1)) "$LAB_CLIENTS"
nn=$(count_of "$RUN/new" "$VICTIM")
if [ "$nn" -ge 1 ]; then ok "new clients reach server $VICTIM again ($nn of $((LAB_CLIENTS - TRACKED)))"; else not_ok "new clients reach server $VICTIM again (0 of $((LAB_CLIENTS - TRACKED)): $(awk '{print $2}' "$RUN/new" | sort | uniq -c | tr '\n' ' '))"; fi

# ---- 3. backups -------------------------------------------------------------------------
tn server set 1 3 --backup >/dev/null && tn refresh --wait >/dev/null
check_eq "server 3 is a backup after refresh" true "$(srv 1 3 .backup)"
snapshot "$RUN/d" 1 "$LAB_CLIENTS"
check_eq "backup gets no client while a primary is up (tracked ones included)" 0 "$(count_of "$RUN/d" 3)"
check_eq "every client answered by a primary" 0 "$(count_of "$RUN/d" -)"
lab_server_stop 1
lab_server_stop 2
if wait_for 10 state_is 1 down && wait_for 10 state_is 2 down; then ok "both primaries marked down"; else not_ok "both primaries marked down"; fi
snapshot "$RUN/e" 1 "$LAB_CLIENTS"
check_eq "all primaries down: every client goes to the backup" "$LAB_CLIENTS" "$(count_of "$RUN/e" 3)"
check_eq "status -j: farm up on its backup" "up" "$(farm_state 1)"

# ---- 4. all down: drop and report --------------------------------------------------------
drops() { tn -j stats | jq '.reasons.drop_no_server.packets'; }
d0=$(drops)
lab_server_stop 3
if wait_for 10 state_is 3 down; then ok "backup marked down too"; else not_ok "backup marked down too"; fi
snapshot "$RUN/f" 1 10
check_eq "all down: every request fails" 10 "$(count_of "$RUN/f" -)"
sleep 1.2 # counters are sampled every second
d1=$(drops)
if [ "$d1" -gt "$d0" ]; then ok "stats -j: drop_no_server counts ($d0 -> $d1)"; else not_ok "stats -j: drop_no_server counts ($d0 -> $d1)"; fi
check_eq "status -j: farm down with 0 servers up" "down 0" "$(tn -j status | jq -r '.farms[0] | "\(.state) \(.serversUp)"')"
check "status (human) shows the farm down" bash -c "'$TN_BIN' --socket '$SOCK' status | grep -qE 'farm 1 .*: down'"

# ---- 5. tcp probe: a closed port is down ---------------------------------------------------
for i in 1 2 3; do lab_server_start "$i"; done
if wait_for 10 all_up 1 2 3; then ok "all servers back up"; else not_ok "all servers back up"; fi
# through the API: `tenace farm set 1 --probe-type tcp` merges the http-only
# fields (url, method, match...) of the current probe into the tcp probe and is
# refused (400), see the report of this test's author
api() { curl -s --fail-with-body --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' "http://tenace$2" ${3:+-d "$3"}; }
api PUT /v1/tcp/farm/1 '{"probe": {"type": "tcp", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2}}' >/dev/null &&
	tn server set 1 3 --no-backup >/dev/null &&
	tn server set 1 2 --port 81 >/dev/null &&
	tn refresh --wait >/dev/null
check_eq "farm 1 probe is tcp" tcp "$(tn -j farm show 1 | jq -r .probe.type)"
if wait_for 10 state_is 2 down; then ok "tcp probe: server 2 with a closed port (81) is down"; else not_ok "tcp probe: server 2 with a closed port (81) is down ($(srv 1 2 '"\(.state) \(.lastError)"'))"; fi
check_eq "tcp probe: servers 1 and 3 (port 80 open) are up" "up up" "$(srv 1 1 .state) $(srv 1 3 .state)"
check "log: tcp probe transition for 10.99.0.12:81" grep -qE "tcp farm 1 server 2 $(lab_server_addr 2):81 down: .+" "$LOG"
snapshot "$RUN/g" 1 "$LAB_CLIENTS"
check_eq "no client on the server whose probe port is closed" 0 "$(count_of "$RUN/g" 2)"
check_eq "every client answered" 0 "$(count_of "$RUN/g" -)"

# ---- the controller stops cleanly, sanitizers silent ----------------------------------------
ctl_stop_clean "$LOG"
tap_done
