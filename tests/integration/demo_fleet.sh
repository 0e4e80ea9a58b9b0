#!/bin/bash
# make demo-fleet itself: runs scripts/demo-fleet.sh with the sanitizer
# build and checks what it prints, step by step, with its numbers (not only
# its exit code); then checks it left nothing behind, and that Ctrl-C in the
# middle cleans up too.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export FLEET_P="tnfdt$(($$ % 1000))" TENACE="$TN_BIN"
OUT=$(mktemp -d)
DEMO_PID=""
cleanup() {
	[ -n "$DEMO_PID" ] && kill "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT

# has NAME REGEX: a TAP line for the output line matching REGEX (shown when found)
has() {
	local line
	line=$(grep -E -m1 -- "$2" "$OUT/demo.txt")
	if [ -n "$line" ]; then ok "$1: $(sed 's/^ *//' <<<"$line")"; else not_ok "$1 (no line matching /$2/)"; fi
}
left_behind() {
	local what=""
	ip netns list | grep -q "^$FLEET_P-" && what="$what namespaces"
	mount | grep -q "tenace-fleet-$FLEET_P/" && what="$what bpffs"
	pgrep -f "tenace-fleet-$FLEET_P/" >/dev/null && what="$what processes($(pgrep -f "tenace-fleet-$FLEET_P/" | tr '\n' ' '))"
	[ -e "/run/tenace-fleet-$FLEET_P" ] && what="$what directory"
	echo "$what"
}

timeout 600 bash "$TN_ROOT/scripts/demo-fleet.sh" >"$OUT/raw.txt" 2>&1
rc=$?
sed 's/\x1b\[[0-9;]*m//g' "$OUT/raw.txt" >"$OUT/demo.txt"
check_eq "the demo exits with status 0" 0 "$rc"
has "the VIP learned from the 3 nodes" '^   the VIP learned from 3 next hops'
check_eq "the router's route shows 3 next hops" 3 "$(grep -m1 -A4 'the VIP learned' "$OUT/demo.txt" | grep -c 'nexthop via')"
has "tenace node shows the established session" '^   10\.77\.0\.1 +65000 +peer4_10_77_0_1 +Established'
has "the 3 digests are equal" '^   the 3 digests are equal$'
for n in 1 2 3; do
	has "traffic reached node $n" "^   node $n forwarded [1-9][0-9]* VIP packets"
done
has "spread: no failure, nobody moved" '^   spread: [0-9]+ requests from 30 clients, 0 failed, 0 clients changed server'
has "spread: wrk without errors" '^   spread: wrk [1-9][0-9]* requests, 0 errors'
has "one client, 30 connections, one server" '^   client 10\.77\.2\.7, 30 new connections: answered by server [123] \(30 times\)$'
has "node 3 dead: withdrawn by the hold timer" "^   the router withdrew node 3's next hop after [0-9.]+ s"
has "node 3 dead: no failure after convergence" '^   node 3 dead: [0-9]+ requests from 30 clients, 0 failed once the router had converged, 0 clients changed server'
has "node 3 back: announced" '^   node 3 announced [0-9.]+ s after its controller started'
has "node 3 back: nobody moved" '^   clients on another server than before node 3 died: 0$'
has "drain: withdrawn" "^   node 2's route withdrawn after [0-9.]+ s"
has "drain and resume: no failure" '^   drain and resume: [0-9]+ requests from 30 clients, 0 failed, 0 clients changed server'
has "every server down: withdrawn everywhere" '^   the VIP withdrawn by every node [0-9.]+ s after'
has "no route left on the router" '^   router: 0 route\(s\) to 10\.77\.100\.1$'
has "a server back: announced again" '^   server 1 back: announced again by the 3 nodes'
check "no FAILED line" bash -c "! grep -q FAILED $OUT/demo.txt"
[ "$_tap_failed" -gt 0 ] && sed 's/^/# /' "$OUT/demo.txt"
has "the demo's verdict" '^demo-fleet: all checks passed$'
check_eq "the demo left nothing behind" "" "$(left_behind)"

# Ctrl-C once the fleet is up
set -m # a background job of a non-interactive shell would ignore SIGINT
bash "$TN_ROOT/scripts/demo-fleet.sh" >"$OUT/int.txt" 2>&1 &
DEMO_PID=$!
wait_for 120 grep -q '== 3\.' "$OUT/int.txt"
kill -INT "$DEMO_PID"
wait "$DEMO_PID"
rc=$?
set +m
DEMO_PID=""
check_eq "Ctrl-C: the demo exits with status 130" 130 "$rc"
check_eq "Ctrl-C: nothing left behind" "" "$(left_behind)"
tap_done
