#!/bin/bash
# The demo itself (issue 6): runs scripts/demo.sh with the sanitizer build and
# checks what it prints, line by line, not only its exit code; then runs it a
# second time (a second run works), and once more interrupted with Ctrl-C
# (SIGINT) to check that it cleans up everything it created.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tndt$(($$ % 10000))" LAB_CLIENTS=60
export TENACE="$TN_BIN"
OUT=$(mktemp -d)
DEMO_PID=""
cleanup() {
	[ -n "$DEMO_PID" ] && kill "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT

# has NAME REGEX: a TAP line for an output line matching REGEX (shown when found)
has() {
	local line
	line=$(grep -E -m1 -- "$2" "$OUT/demo.txt")
	if [ -n "$line" ]; then ok "$1: $(sed 's/^ *//' <<<"$line")"; else not_ok "$1 (no line matching /$2/)"; fi
}
# nothing left by a demo run: namespaces, pins, processes, files
left_behind() {
	local what=""
	ip netns list | grep -q "^$LAB_P-" && what="$what namespaces($(ip netns list | grep "^$LAB_P-" | awk '{print $1}' | tr '\n' ' '))"
	[ -e "/sys/fs/bpf/$LAB_P" ] && what="$what pins"
	pgrep -f "tenace-lab-$LAB_P/" >/dev/null && what="$what processes($(pgrep -f "tenace-lab-$LAB_P/" | tr '\n' ' '))"
	[ -e "/tmp/tenace-lab-$LAB_P" ] && what="$what lab-dir"
	echo "$what"
}

ensure_bpffs
start=$SECONDS
timeout 300 bash "$TN_ROOT/scripts/demo.sh" >"$OUT/raw.txt" 2>&1
rc=$?
# without colours, for matching
sed 's/\x1b\[[0-9;]*m//g' "$OUT/raw.txt" >"$OUT/demo.txt"
check_eq "demo exits 0 (in $((SECONDS - start)) s)" 0 "$rc"

# 1-2: the lab and the controller
has "lab described" "^== 1\. The lab: a client with $LAB_CLIENTS addresses, a balancer, 3 nginx servers"
check "status shows the three servers up before traffic" \
	bash -c "[ \"\$(grep -cE '^[123] +10\.99\.0\.1[123] +80 +[12] +false +up +up ' '$OUT/demo.txt')\" -ge 3 ]"

# 3: stickiness
has "stickiness line" "sticky: $LAB_CLIENTS clients x 3 requests, every client always answered by the same server"
check_eq "every client listed with a server" "$LAB_CLIENTS" "$(grep -oE 'client 10\.99\.1\.[0-9]+ +-> server [123]' "$OUT/demo.txt" | wc -l)"

# 4: the split against the weights 1:1:2
total=0
for s in 1 2 3; do
	line=$(grep -E "^ +server $s +weight [0-9]+ +expected +[0-9.]+% +got +[0-9]+ clients \( *[0-9.]+%\)" "$OUT/demo.txt")
	if [ -z "$line" ]; then
		not_ok "split line for server $s"
		continue
	fi
	read -r exp got pct < <(sed -E 's/.*expected +([0-9.]+)% +got +([0-9]+) clients \( *([0-9.]+)%\).*/\1 \2 \3/' <<<"$line")
	total=$((total + got))
	# 60 clients: a share within 15 points of the weight's
	if awk -v e="$exp" -v p="$pct" 'BEGIN { d = e - p; if (d < 0) d = -d; exit !(d <= 15) }'; then
		ok "split: server $s expected $exp%, got $got clients ($pct%)"
	else
		not_ok "split: server $s expected $exp%, got $got clients ($pct%): more than 15 points off"
	fi
done
check_eq "split: the three lines add up to every client" "$LAB_CLIENTS" "$total"

# 5: staged weight change, pending, refresh
has "server set staged" "changed server 3 of tcp farm 1 \(pending until \`tenace refresh\`\)"
has "pending shows the staged change" "^demo +1$"
has "staged changes do not touch traffic" "before refresh: 0 clients moved"
has "refresh task done" "^task [0-9]+: done"
has "after refresh: 0 clients moved" "after refresh: 0 of $LAB_CLIENTS clients moved"

# 6: failover
line=$(grep -E "client 10\.99\.1\.[0-9]+ moved to server [13] after [0-9.]+ s" "$OUT/demo.txt")
t=$(sed -E 's/.* after ([0-9.]+) s.*/\1/' <<<"$line")
if [ -n "$line" ] && awk -v t="$t" 'BEGIN { exit !(t <= 3) }'; then ok "failover: ${line#   } (bound 3 s)"; else not_ok "failover: a client of server 2 moved within 3 s (line: '$line')"; fi
has "failover: log line names farm, server, address, reason" "log: .* tcp farm 1 server 2 10\.99\.0\.12:80 down: .+"
line=$(grep -E "[0-9]+ of [0-9]+ clients of server 2 moved; [0-9]+ other clients moved" "$OUT/demo.txt")
read -r a b o < <(sed -E 's/.* ([0-9]+) of ([0-9]+) clients of server 2 moved; ([0-9]+) other.*/\1 \2 \3/' <<<"$line")
if [ -n "$line" ] && [ "$a" = "$b" ] && [ "${b:-0}" -ge 1 ]; then ok "failover: every client of server 2 moved ($a of $b)"; else not_ok "failover: every client of server 2 moved (line: '$line')"; fi
check_eq "failover: 0 other clients moved" 0 "${o:-missing}"
check "failover: status shows server 2 down with its error" \
	grep -qE '^2 +10\.99\.0\.12 +80 +1 +false +down +down .*(refused|error|timeout|status)' "$OUT/demo.txt"

# 7: server 2 comes back
has "server 2 back: its return is logged (after rise)" "log: .* tcp farm 1 server 2 10\.99\.0\.12:80 up: .*\(2/2\)"
has "0 clients moved when server 2 came back" "^ +0 clients moved when server 2 came back"

# 8: stats
sed -n '/^== 8\. Counters/,$p' "$OUT/demo.txt" >"$OUT/stats.txt"
check "stats section present" grep -q '^sampled ' "$OUT/stats.txt"
check "stats: reasons table with conntrack hits and XDP_TX" \
	bash -c "grep -qE '^conntrack_hit +[0-9]' '$OUT/stats.txt' && grep -qE '^xdp_tx +[0-9]' '$OUT/stats.txt'"
check "stats: the VIP counted" grep -qE "^tcp 1 +10\.99\.100\.1 +80 +[0-9]" "$OUT/stats.txt"
check_eq "stats: a line per server" 3 "$(grep -cE '^tcp 1 +[123] +10\.99\.0\.1[123] +[0-9]' "$OUT/stats.txt")"

check_eq "no FAILED line" 0 "$(grep -c 'FAILED' "$OUT/demo.txt")"
has "final line" "^demo: all checks passed$"
check_eq "nothing left behind after the demo" "" "$(left_behind)"

# ---- a second run works ------------------------------------------------------------------------
timeout 300 bash "$TN_ROOT/scripts/demo.sh" >"$OUT/raw2.txt" 2>&1
rc=$?
check_eq "second run exits 0" 0 "$rc"
check "second run: all checks passed" grep -q '^demo: all checks passed$' "$OUT/raw2.txt"

# ---- Ctrl-C cleans up ------------------------------------------------------------------------------
set -m # a background job of a non-interactive shell would ignore SIGINT
bash "$TN_ROOT/scripts/demo.sh" >"$OUT/raw3.txt" 2>&1 &
DEMO_PID=$!
set +m
for _ in $(seq 300); do grep -q '== 3\. Stickiness' "$OUT/raw3.txt" && break; sleep 0.1; done
kill -INT "$DEMO_PID"
wait "$DEMO_PID"
rc=$?
DEMO_PID=""
check_eq "Ctrl-C: the demo exits with 130" 130 "$rc"
check "Ctrl-C: says it cleans up" grep -q 'interrupted: cleaning up' "$OUT/raw3.txt"
check_eq "Ctrl-C: nothing left behind" "" "$(left_behind)"
tap_done
