#!/bin/bash
# What a refresh will move, before it moves it (issue 13), with real traffic
# in the lab (three nginx servers, sourceIp stickiness: one conntrack entry
# per client address). 40 clients tracked, then:
#   - a server removed: the dry run's count of tracked clients that move is
#     checked client by client against what the refresh then does (exactly
#     the clients of the removed server change server), its count of table
#     entries changing owner against the tables before and after;
#   - --max-moved below the farm's moved share is refused (exit 5, the farm
#     named) and changes nothing; above it the refresh applies;
#   - a weight change: the dry run says no tracked client moves and how many
#     entries change owner; the refresh moves nobody, the tables agree, and
#     each server's new-client share is its weight share.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
LAB_P="tnpv$(($$ % 10000))"
LAB_SERVERS=3
LAB_CLIENTS=40
. "$TN_ROOT/scripts/lab.sh"

TMP=$(mktemp -d /tmp/tenace-preview-XXXXXX)
PIN=/sys/fs/bpf/tenace-preview-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
LOG=$TMP/ctl.log
CTL_PID=
N=$LAB_CLIENTS
cleanup() {
	trap - EXIT
	ctl_stop
	lab_down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
ensure_bpffs

if ! lab_up >"$TMP/lab.log" 2>&1; then
	not_ok "lab set up"
	sed 's/^/# /' "$TMP/lab.log"
	tap_done
	exit 1
fi
for s in 1 2 3; do lab_server_start "$s"; done
cat >"$CFG" <<JSON
{
  "interfaces": ["eth0"],
  "tableSize": 1021,
  "hashSeed": 11,
  "conntrack": {"size": 10000},
  "farms": [
    {"farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp",
     "servers": [{"serverId": 1, "address": "$(lab_server_addr 1)"},
                 {"serverId": 2, "address": "$(lab_server_addr 2)"},
                 {"serverId": 3, "address": "$(lab_server_addr 3)"}]}
  ],
  "frontends": [
    {"frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1}
  ]
}
JSON

ctl_start() {
	nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" 2>>"$LOG" &
	CTL_PID=$!
	wait_for 20 tn -j status >/dev/null 2>&1
}
api() { curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
	-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://localhost$2"; }
all_up() { for s in 1 2 3; do [ "$(srv 1 "$s" .state)" = up ] || return 1; done; }
# answers FILE: the server each client 1..N reached, one line each ("K" or "none")
answers() {
	local i a
	for i in $(seq 1 "$N"); do
		a=$(lab_request "$i")
		case "$a" in "server "*) echo "${a#server }" ;; *) echo none ;; esac
	done >"$1"
}
# differ A B: the clients (line numbers) whose server differs
differ() { paste -d' ' "$1" "$2" | awk '$1 != $2 {print NR}'; }
on_server() { awk -v s="$2" '$1 == s {print NR}' "$1"; }
# the farm's table entries (serverId or null), one per line
table() { tn -j table 1 | jq -r '.entries[] | tostring' >"$1"; }
pv() { jq -r ".farms[0]$2" "$1"; }
generation() { tn -j status | jq -r '.farms[0].generation'; }

check "the controller starts" ctl_start
check "the three servers are up" wait_for 30 all_up
check_eq "no pending change: the dry run rewrites no farm" 0 "$(tn -j refresh --dry-run | jq '.farms | length')"

answers "$TMP/a0"
check_eq "every one of the $N clients is answered" 0 "$(grep -c none "$TMP/a0")"

# ---- a server removed ---------------------------------------------------------------
check_eq "server 3 removed (staged)" 200 "$(api DELETE /v1/tcp/farm/1/server/3)"
tn -j refresh --dry-run >"$TMP/p1"
on3=$(on_server "$TMP/a0" 3 | wc -l)
check_eq "dry run: one farm, changed" "changed" "$(pv "$TMP/p1" .change)"
check_eq "dry run: the $N clients are tracked" "$N" "$(pv "$TMP/p1" .trackedClients)"
check_eq "dry run: the clients of server 3 move ($on3)" "$on3" "$(pv "$TMP/p1" .movedClients)"
for s in 1 2 3; do
	check_eq "dry run: server $s tracks the clients that reached it" "$(on_server "$TMP/a0" "$s" | wc -l)" \
		"$(pv "$TMP/p1" ".servers[] | select(.serverId == $s) | .trackedClients")"
done
check_eq "dry run: server 3 is removed, with no entry after" "removed 0" \
	"$(pv "$TMP/p1" '.servers[] | select(.serverId == 3) | "\(.change) \(.entriesAfter)"')"
share=$(pv "$TMP/p1" .movedPercent)
check "dry run: the moved share is the moved clients over the tracked ones ($share %)" \
	python3 -c "import sys; sys.exit(abs($share - 100.0 * $on3 / $N) > 0.01)"
tn refresh --dry-run >"$TMP/p1.txt"
check "the dry run's table names the farm and what moves" \
	grep -q "tracked clients moving: *$on3 of $N" "$TMP/p1.txt"
check "GET /v1/pendingChanges?detail=true gives the same counts" \
	[ "$(tn -j pending --detail | jq -c '[.changes[0].number, .farms[0].movedClients, .farms[0].entriesChanged]')" = \
	  "[1,$on3,$(pv "$TMP/p1" .entriesChanged)]" ]

gen=$(generation)
table "$TMP/t0"
low=$(python3 -c "print(max(0, $share - 1))")
tn refresh --max-moved "$low%" >"$TMP/r1.out" 2>"$TMP/r1.err"
check_eq "--max-moved $low% is refused: exit 5 (409)" 5 "$?"
check "the refusal names the farm and its moved share" grep -q "tcp farm 1 would move $on3 of its $N tracked clients" "$TMP/r1.err"
check_eq "refused: the farm was not rewritten" "$gen" "$(generation)"
check_eq "refused: the change is still pending" 1 "$(tn -j pending | jq '.[0].number')"
answers "$TMP/a1"
check_eq "refused: every client keeps its server" "" "$(differ "$TMP/a0" "$TMP/a1" | tr '\n' ' ')"

high=$(python3 -c "print(min(100, $share + 1))")
check "--max-moved $high% applies the refresh" bash -c "'$TN_BIN' --socket '$SOCK' refresh --max-moved '$high%' --wait | grep -q 'configuration applied'"
answers "$TMP/a2"
check_eq "after the refresh exactly the clients of server 3 changed server, as the dry run said" \
	"$(on_server "$TMP/a0" 3 | tr '\n' ' ')" "$(differ "$TMP/a0" "$TMP/a2" | tr '\n' ' ')"
check_eq "nobody is answered by server 3 any more" 0 "$(on_server "$TMP/a2" 3 | wc -l)"
table "$TMP/t1"
check_eq "the table entries that changed owner are the dry run's count" "$(pv "$TMP/p1" .entriesChanged)" \
	"$(differ "$TMP/t0" "$TMP/t1" | wc -l)"

# ---- a weight change: entries move, tracked clients do not ----------------------------
check_eq "server 1 weight 3 (staged)" 200 "$(api PUT /v1/tcp/farm/1/server/1 '{"weight": 3}')"
tn -j refresh --dry-run >"$TMP/p2"
check_eq "dry run: a weight change moves no tracked client" "$N 0" \
	"$(pv "$TMP/p2" '| "\(.trackedClients) \(.movedClients)"')"
e2=$(pv "$TMP/p2" .entriesChanged)
check "dry run: some entries change owner ($e2)" [ "$e2" -gt 0 ]
check "dry run: each server's new-client share is its weight share (within 1 %)" \
	python3 -c "
import json, sys
f = json.load(open('$TMP/p2'))['farms'][0]
sys.exit(any(abs(s['newClientPercent'] - s['weightPercent']) > 1 for s in f['servers'] if s['change'] == 'kept'))"
check_eq "dry run: server 1 gets 3 / 4 of the weight" 75 "$(pv "$TMP/p2" '.servers[] | select(.serverId == 1) | .weightPercent')"
table "$TMP/t1"
check "refresh with a limit of 0 % (nothing tracked moves)" bash -c "'$TN_BIN' --socket '$SOCK' refresh --max-moved 0 --wait | grep -q 'configuration applied'"
answers "$TMP/a3"
check_eq "after the weight change every tracked client keeps its server" "" "$(differ "$TMP/a2" "$TMP/a3" | tr '\n' ' ')"
table "$TMP/t2"
check_eq "the table entries that changed owner are the dry run's count" "$e2" "$(differ "$TMP/t1" "$TMP/t2" | wc -l)"

ctl_stop_clean "$LOG"
tap_done
