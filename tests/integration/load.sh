#!/bin/bash
# tenace load / unload on a real interface, with traffic flowing:
# loading again replaces the program without a gap (new program id, no
# failed request) and keeps the pinned conntrack (clients keep their server);
# the data plane forwards without any controller; unload stops balancing and
# a later load picks up the pinned state; conflicting settings are refused
# with a message saying what to do.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
LAB_P="tnl$(($$ % 10000))"
LAB_SERVERS=2
LAB_CLIENTS=20
. "$TN_ROOT/scripts/lab.sh"

TMP=$(mktemp -d /tmp/tenace-load-XXXXXX)
PIN=/sys/fs/bpf/tenace-load-$$
SOCK=$TMP/tenace.sock
CTL_PID=
LOOP_PID=
cleanup() {
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	lab_netns lb "$TN_BIN" unload eth0 --all --pin-dir "$PIN" >/dev/null 2>&1
	lab_down >/dev/null 2>&1
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
lab_up >"$TMP/lab.log" 2>&1 || { not_ok "lab set up"; cat "$TMP/lab.log"; exit 1; }
lab_server_start 1 && lab_server_start 2

cat >"$TMP/tenace.json" <<JSON
{
  "interfaces": ["eth0"],
  "tableSize": 1021,
  "conntrack": {"size": 10000},
  "farms": [{"farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp",
    "servers": [{"serverId": 1, "address": "$(lab_server_addr 1)"},
                {"serverId": 2, "address": "$(lab_server_addr 2)"}]}],
  "frontends": [{"frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1}]
}
JSON

prog_id() { lab_netns lb ip -j link show dev eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get("xdp",{}).get("prog",{}).get("id",0))'; }
snapshot() { local i; for i in $(seq 1 "$LAB_CLIENTS"); do echo "$i $(lab_request "$i" 1)"; done >"$1"; }

# the controller configures the farm, then leaves: the data plane goes on alone
nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$TMP/tenace.json" --socket "$SOCK" \
	--pin-dir "$PIN" >"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
ok=0
for _ in $(seq 100); do
	[ "$(lab_request 1 1)" != "no answer" ] && ok=1 && break
	sleep 0.1
done
check "the controller's data plane answers on the VIP" [ "$ok" = 1 ]
snapshot "$TMP/before"
kill -TERM "$CTL_PID"; wait "$CTL_PID"; CTL_PID=
check "both servers have clients" [ "$(awk '{print $3}' "$TMP/before" | sort -u | wc -l)" -eq 2 ]
snapshot "$TMP/alone"
check "the data plane forwards with no controller running" cmp -s "$TMP/before" "$TMP/alone"

# a request every 20 ms from one client while the program is replaced
( fails=0; n=0; while [ ! -e "$TMP/stop" ]; do
	r=$(lab_request 3 1); n=$((n + 1)); [ "$r" = "no answer" ] && fails=$((fails + 1)); sleep 0.02
  done; echo "$n $fails" >"$TMP/loop" ) &
LOOP_PID=$!
ids="$(prog_id)"
for _ in 1 2 3 4 5; do
	lab_netns lb "$TN_BIN" load eth0 --pin-dir "$PIN" >>"$TMP/load.log" 2>&1 || echo "load failed" >>"$TMP/load.log"
	ids="$ids $(prog_id)"
	sleep 0.3
done
touch "$TMP/stop"; wait "$LOOP_PID"; LOOP_PID=
reload_failures=$(grep -c "load failed" "$TMP/load.log")
check_eq "five reloads succeed" 0 "$reload_failures"
check_eq "every reload attached a new program" 6 "$(echo "$ids" | tr ' ' '\n' | sort -u | grep -vc '^0$')"
read -r n fails <"$TMP/loop"
check "requests kept flowing during reloads ($n requests)" [ "$n" -gt 10 ]
check_eq "no request failed during reloads" 0 "$fails"
snapshot "$TMP/after"
check "every client kept its server across reloads (pinned conntrack)" cmp -s "$TMP/before" "$TMP/after"

lab_netns lb "$TN_BIN" load eth0 --pin-dir "$PIN" --table-size 2039 >"$TMP/conflict.log" 2>&1
rc=$?
check "a load with another table size is refused" [ "$rc" -ne 0 ]
check "the refusal says to unload first" grep -q "unload" "$TMP/conflict.log"

lab_netns lb "$TN_BIN" unload eth0 --pin-dir "$PIN" >"$TMP/unload.log" 2>&1
check_eq "unload detaches the program" 0 "$(prog_id)"
check_eq "without the program the VIP is not balanced" "no answer" "$(lab_request 1 1)"
check "unload keeps the pins" [ -e "$PIN/conntrack" ]
lab_netns lb "$TN_BIN" load eth0 --pin-dir "$PIN" >>"$TMP/load.log" 2>&1
snapshot "$TMP/reloaded"
check "a new load picks up the pinned farms and conntrack" cmp -s "$TMP/before" "$TMP/reloaded"
lab_netns lb "$TN_BIN" unload eth0 --all --pin-dir "$PIN" >/dev/null 2>&1
check "unload --all removes the pins" [ ! -e "$PIN" ]
lab_netns lb "$TN_BIN" load nosuchif0 --pin-dir "$PIN" >"$TMP/bad.log" 2>&1
rc=$?
check "loading on a missing interface fails" [ "$rc" -ne 0 ]
check "and names the interface" grep -q "nosuchif0" "$TMP/bad.log"
tap_done
