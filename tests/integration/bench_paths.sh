#!/bin/bash
# The bench's per-packet sections (ns, encap, decap) check every packet they measure before they
# measure it (outer header to a server through the router's MAC, the client's
# packet unchanged inside; the decap feeder's stripped tunnel). This runs
# them with few repetitions (work bounded, no time asserted) and reads the
# JSON: every case measured, every packet on the path the case expects.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BENCH="$TN_ROOT/build/tenace-bench-san"

"$BENCH" -s ns,encap,decap -r 2 --repeat 20000 -o "$TMP/bench.json" >"$TMP/out" 2>&1 &
pid=$!
wait "$pid"
rc=$?
check_eq "tenace-bench -s ns,encap,decap exits 0 (no measurement failure)" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/out"
j() { jq -r "$1" "$TMP/bench.json" 2>/dev/null; }
check_eq "encap: the DSR, IPIP and GUE cases measured" "dsr ipip gue" "$(j '[.encap.cases[].name] | join(" ")')"
check_eq "encap: every packet took its path (conntrack hit, IPIP, GUE)" \
	"conntrack_hit:1 encap_ipip:1 encap_gue:1" \
	"$(j '[.encap.cases[] | "\(.expected_path):\(.path_fraction)"] | join(" ")')"
check "encap: each case has a positive time and ratio" \
	jq -e '[.encap.cases[] | .tenace_ns > 0 and .ratio > 0] | all' "$TMP/bench.json"
check "encap: the tunnels' cost above DSR is reported" \
	jq -e '[.encap.cases[1:][] | .above_dsr_ns != null] | all' "$TMP/bench.json"
check_eq "ns: the seven cases measured, each on its path" 7 \
	"$(j '[.ns_per_packet.cases[] | select(.path_fraction >= 0.99)] | length')"
check "decap: measured" jq -e '.decap | length > 0' "$TMP/bench.json"
check "the bench's routed namespace is gone afterwards" bash -c "! ip netns list | grep -qw tnbench-routed-$pid"

tap_done
