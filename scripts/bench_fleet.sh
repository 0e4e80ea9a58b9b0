#!/bin/bash
# make bench, section fleet: BGP convergence in the fleet lab (scripts/fleet.sh),
# seconds from an event to the router's route change, against the timing
# contract; and the table digest compared across the three nodes.
#   scripts/bench_fleet.sh [JSON_OUT]   (a table on stdout; JSON to JSON_OUT,
#                                        default build/bench-fleet.json)
# Times are measured from the moment the event is caused (the command is
# started, the link goes down) to the first sample of the router's kernel
# route that shows the change (sampled every 20 ms).
set -u
cd "$(dirname "$0")/.."
OUT=${1:-build/bench-fleet.json}
REPS=${BENCH_FLEET_REPS:-5}
export FLEET_P="tnbf$(($$ % 10000))" FLEET_CLIENTS=4
export FLEET_TENACE="${TENACE:-build/tenace}"
. scripts/fleet.sh
trap 'fleet_down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench_fleet.sh: needs root (namespaces, BPF)" >&2
	exit 1
fi
command -v bird >/dev/null || { echo "bench_fleet.sh: no bird (Debian package bird2; make deps)" >&2; exit 1; }

# time_to WANT SECONDS: the event's time is $T0; prints the seconds to the change, or "nan"
time_to() { FLEET_T0=$T0 fleet_wait_nexthops "$1" "$2" || echo nan; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {if (!NR) print "nan"; else if (v[int((NR + 1) / 2)] == "nan") print "nan"; else print v[int((NR + 1) / 2)]}'; }
max_of() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1; }
failed=0

fleet_up >/dev/null 2>&1 || { echo "bench_fleet.sh: cannot build the fleet lab" >&2; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
T0=$EPOCHREALTIME
for n in 1 2 3; do fleet_node_start "$n"; done
first=$(time_to "1 2 3" 60)
[ "$first" = nan ] && { echo "bench_fleet.sh: the fleet did not come up" >&2; exit 1; }
sleep 2

death="" restart="" drain="" resume="" sigterm="" noserver="" back=""
for r in $(seq 1 "$REPS"); do
	# a node dies: no FIN reaches the router, its hold timer decides
	T0=$EPOCHREALTIME
	ip -n "$FLEET_P-n3" link set eth0 down
	fleet_node_kill 3
	death="$death $(time_to "1 2" 30)"
	ip -n "$FLEET_P-n3" link set eth0 up
	T0=$EPOCHREALTIME
	fleet_node_start 3
	restart="$restart $(time_to "1 2 3" 60)"
	sleep 1
	# drain and resume
	T0=$EPOCHREALTIME
	fleet_tn 2 node drain >/dev/null
	drain="$drain $(time_to "1 3" 20)"
	T0=$EPOCHREALTIME
	fleet_tn 2 node resume >/dev/null
	resume="$resume $(time_to "1 2 3" 20)"
	sleep 1
done
for r in $(seq 1 "$REPS"); do
	# a graceful stop
	T0=$EPOCHREALTIME
	fleet_node_stop 1
	sigterm="$sigterm $(time_to "2 3" 20)"
	fleet_node_start 1
	time_to "1 2 3" 60 >/dev/null
	sleep 1
done
for r in $(seq 1 3); do
	# every server down, one back (probes every 0.5 s, fall 2, rise 2)
	T0=$EPOCHREALTIME
	for i in 1 2 3; do lab_server_stop "$i"; done
	noserver="$noserver $(time_to "" 30)"
	T0=$EPOCHREALTIME
	for i in 1 2 3; do lab_server_start "$i"; done
	back="$back $(time_to "1 2 3" 30)"
	sleep 1
done
digests=$(for n in 1 2 3; do fleet_tn "$n" -j table 1 | jq -r .digest; done | sort -u | wc -l)
digest=$(fleet_tn 1 -j table 1 | jq -r .digest)

# one row: NAME KEY TARGET VALUES...
rows_json=""
row() {
	local name="$1" key="$2" target="$3" vals="$4" med mx pass
	med=$(echo "$vals" | median)
	mx=$(echo "$vals" | max_of)
	pass=$(awk -v m="$mx" -v t="$target" 'BEGIN {print (m != "nan" && m + 0 <= t + 0) ? "true" : "false"}')
	[ "$pass" = true ] || failed=$((failed + 1))
	printf '%-44s %8s s %8s s   <=%4s s %s\n' "$name" "$med" "$mx" "$target" "$([ "$pass" = true ] && echo PASS || echo MISS)"
	rows_json="$rows_json${rows_json:+,}{\"name\":\"$key\",\"event\":\"$name\",\"median_s\":$med,\"max_s\":$mx,\"target_s\":$target,\"pass\":$pass,\"samples_s\":[$(echo "$vals" | sed 's/^ *//; s/ \+/,/g')]}"
}

echo
echo "== fleet: BGP convergence, 3 nodes behind a BIRD router (ECMP), holdTime $FLEET_HOLD s (seconds from the event to the router's route change; $REPS runs, 3 for the servers) =="
printf '%-44s %10s %10s %9s\n' "event" "median" "max" "target"
row "node dies (link down; hold timer)" node_death "$((FLEET_HOLD + 1))" "$death"
row "node's controller restarted: announced" node_restart 10 "$restart"
row "tenace node drain: withdrawn" drain 2 "$drain"
row "tenace node resume: announced" resume 2 "$resume"
row "SIGTERM of a controller: withdrawn" sigterm 2 "$sigterm"
row "every server down: withdrawn by all nodes" all_servers_down 2 "$noserver"
row "servers back: announced by all nodes" servers_back 2 "$back"
echo "(the last two include the probes' detection: 2 checks at 0.5 s intervals)"
echo "first start of 3 controllers at once: VIP on 3 next hops after $first s"
if [ "$digests" -eq 1 ]; then
	echo "table digests of farm 1 on the 3 nodes: equal ($digest) PASS"
	dpass=true
else
	echo "table digests of farm 1 on the 3 nodes: $digests different MISS"
	dpass=false
	failed=$((failed + 1))
fi
echo "$failed fleet target(s) missed"
mkdir -p "$(dirname "$OUT")"
cat >"$OUT" <<JSON
{"method": "scripts/bench_fleet.sh: the fleet lab of scripts/fleet.sh, release build; each time from the event (command started, link down) to the router's kernel route change, sampled every 20 ms",
 "hold_time_s": $FLEET_HOLD, "first_start_s": $first,
 "rows": [$rows_json],
 "digest": {"nodes": 3, "distinct": $digests, "value": "$digest", "pass": $dpass}}
JSON
exit 0
