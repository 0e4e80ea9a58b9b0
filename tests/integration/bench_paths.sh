#!/bin/bash
# The bench's per-packet sections (ns, flood, encap, decap) check every packet they measure before they
# measure it (outer header to a server through the router's MAC, the client's
# packet unchanged inside; the decap feeder's stripped tunnel; the memory
# floor's and the kernel LRU's output as the baseline's). This runs them with few repetitions
# (work bounded: --repeat 20000, so the flood is 100,000 SYNs; no time
# asserted) and reads the JSON: every case measured, every packet on the path
# the case expects, the flood's established clients all on their server.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BENCH="$TN_ROOT/build/tenace-bench-san"

"$BENCH" -s ns,flood,encap,decap -r 2 --repeat 20000 -o "$TMP/bench.json" >"$TMP/out" 2>&1 &
pid=$!
wait "$pid"
rc=$?
check_eq "tenace-bench -s ns,flood,encap,decap exits 0 (no measurement failure)" 0 "$rc"
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
check_eq "ns: the eight cases measured, each on its path" 8 \
	"$(j '[.ns_per_packet.cases[] | select(.path_fraction >= 0.99)] | length')"
check_eq "ns: new client split in table filling and table full, both on conntrack_new" \
	"new_client_filling:conntrack_new:false new_client_full:conntrack_new:true" \
	"$(j '[.ns_per_packet.cases[] | select(.name | startswith("new_client")) | select(.path_fraction >= 0.99)
	       | "\(.name):\(.expected_path):\(.evicting)"] | join(" ")')"
check "ns: the table-full row's conntrack was full before it ran (every way of its sets)" \
	jq -e '.ns_per_packet.cases[] | select(.name == "new_client_full")
	       | .conntrack_ways >= .conntrack_capacity and .conntrack_entries_before >= 0.99 * .conntrack_ways' \
	"$TMP/bench.json"
check_eq "ns: the memory floor rows, 10,000 and 1,000,000 entries" "floor_10k:10000 floor_1m:1000000" \
	"$(j '[.ns_per_packet.memory_floor[] | "\(.name):\(.entries)"] | join(" ")')"
check "ns: each floor has a positive time, its array the conntrack's size" \
	jq -e '.ns_per_packet as $s | [$s.memory_floor[] | .floor_ns > 0 and .array_entries == $s.conntrack_size]
	       | all' "$TMP/bench.json"
check "ns: tracked 10,000 and 1,000,000 reported against their floor" \
	jq -e '[.ns_per_packet.cases[] | select(.name == "tracked_10k" or .name == "tracked_1m")
	        | .ratio_to_floor > 0] | length == 2 and all' "$TMP/bench.json"
check_eq "ns: the kernel LRU alone beside each tracked and new-client row" \
	"lru_1:tracked_1 lru_10k:tracked_10k lru_1m:tracked_1m lru_filling:new_client_filling lru_full:new_client_full" \
	"$(j '[.ns_per_packet.kernel_lru[] | "\(.name):\(.floor_of)"] | join(" ")')"
check "ns: each LRU row has a positive time, its LRU the conntrack's size (the evicting one's full first)" \
	jq -e '.ns_per_packet as $s | [$s.kernel_lru[] | .floor_ns > 0 and .key_bytes == 8 and .value_bytes == 8
	       and (if .name == "lru_full" then .lru_entries_before >= 0.99 * .lru_entries
	            else .lru_entries == $s.conntrack_size end)] | all' "$TMP/bench.json"
check "ns: the five Tenace rows reported against the kernel LRU alone" \
	jq -e '[.ns_per_packet.cases[] | select(.ratio_to_kernel_lru > 0)] | length == 5' "$TMP/bench.json"
check_eq "flood: 100,000 SYNs sent, every one deferred, none inserted" "100000 100000 0" \
	"$(j '.flood | "\(.flood_syns_sent) \(.conntrack_deferred_during_flood) \(.conntrack_new_during_flood)"')"
check_eq "flood: conntrack occupancy the same before and after (the established clients)" "10000 10000" \
	"$(j '.flood | "\(.occupancy_before) \(.occupancy_after)"')"
check_eq "flood: the weight change moved Maglev entries, no established client moved" "true 0 1" \
	"$(j '.flood | "\(.table_entries_changed > 0) \(.moved) \(.delivered_share)"')"
check "flood: a rate and ns per SYN against a tracked packet" \
	jq -e '.flood | .flood_mpps > 0 and .flood_ns_per_syn > 0 and .tracked_ns > 0 and .tracked_path_fraction >= 0.99' \
	"$TMP/bench.json"
check_eq "ACK flood: 100,000 ACKs sent, each tracked within the budget or steered untracked" "100000 true" \
	"$(j '.ack_flood | "\(.flood_acks_sent) \(.conntrack_new_during_flood + .conntrack_refused_during_flood <= .flood_acks_sent)"')"
check "ACK flood: the TCP budget held (inserted at most its share of the flood's windows), the rest refused" \
	jq -e '.ack_flood | .conntrack_new_during_flood <= .admitted_bound
	       and (.conntrack_refused_during_flood > 0 or .admitted_bound >= .flood_acks_sent)
	       and .occupancy_after == .occupancy_before + .conntrack_new_during_flood' "$TMP/bench.json"
check_eq "ACK flood: the weight change moved Maglev entries, no established client moved or lost" "true 0 0 1" \
	"$(j '.ack_flood | "\(.table_entries_changed > 0) \(.moved) \(.lost) \(.delivered_share)"')"
check "decap: measured" jq -e '.decap | length > 0' "$TMP/bench.json"
check "the bench's routed namespace is gone afterwards" bash -c "! ip netns list | grep -qw tnbench-routed-$pid"

tap_done
