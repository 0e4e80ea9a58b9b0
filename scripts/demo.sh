#!/bin/bash
# Tenace demo: builds a lab of namespaces (client with many addresses, a
# balancer, three nginx servers), runs the controller, sends real HTTP
# traffic and shows stickiness, the weighted split, a staged weight change
# applied by refresh, a server failure and its return, and the counters.
# Cleans up everything on exit (Ctrl-C included); safe to run again.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TENACE="${TENACE:-$ROOT/build/tenace}"
export LAB_P="${LAB_P:-tndemo}"
export LAB_CLIENTS="${LAB_CLIENTS:-60}"
# shellcheck source=lab.sh
source "$ROOT/scripts/lab.sh"
RUN="$LAB_DIR/run"
SOCK="$RUN/tenace.sock"
PIN="/sys/fs/bpf/$LAB_P"
CTL_PID=""
FAIL=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; FAIL=1; }
tn() { "$TENACE" --socket "$SOCK" "$@"; }

cleanup() {
	trap - EXIT INT TERM
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	lab_netns lb "$TENACE" unload eth0 --all --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" 2>/dev/null
	lab_down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

# server_of N -> "1".."3" or "-" (no answer)
server_of() {
	local r
	r=$(lab_request "$1" 1)
	case "$r" in "server "*) echo "${r#server }" ;; *) echo "-" ;; esac
}

# snapshot FILE: "client server" for every client
snapshot() {
	local i
	: >"$1"
	for i in $(seq 1 "$LAB_CLIENTS"); do
		echo "$i $(server_of "$i")" >>"$1"
	done
}

say "1. The lab: a client with $LAB_CLIENTS addresses, a balancer, $LAB_SERVERS nginx servers"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
lab_up || { echo "cannot build the lab"; exit 1; }
for i in $(seq 1 "$LAB_SERVERS"); do lab_server_start "$i"; done
mkdir -p "$RUN"
note "VIP $LAB_VIP:80 on the balancer ($LAB_LB); servers $(lab_server_addr 1), $(lab_server_addr 2), $(lab_server_addr 3) hold the VIP on lo (L2 direct server return)"
cat >"$RUN/tenace.json" <<JSON
{
  "zone": "demo",
  "interfaces": ["eth0"],
  "hashSeed": 2024,
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr 1)", "weight": 1, "displayName": "s1" },
      { "serverId": 2, "address": "$(lab_server_addr 2)", "weight": 1, "displayName": "s2" },
      { "serverId": 3, "address": "$(lab_server_addr 3)", "weight": 2, "displayName": "s3" }
    ]
  }],
  "frontends": [{
    "frontendId": 1, "type": "tcp", "displayName": "www", "vip": ["$LAB_VIP"], "port": "80",
    "defaultFarmId": 1
  }]
}
JSON

say "2. Tenace: controller attached to the balancer's eth0 (native XDP)"
# nsenter itself rather than the lab_netns function (a subshell): $! must be
# the controller, so that cleanup stops it
nsenter --net="/run/netns/$LAB_P-lb" "$TENACE" run --config "$RUN/tenace.json" --socket "$SOCK" --pin-dir "$PIN" \
	2>"$RUN/controller.log" &
CTL_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$RUN/controller.log"; echo "controller did not start"; exit 1; }
for _ in $(seq 50); do tn status -j 2>/dev/null | grep -q '"up"' && break; sleep 0.2; done
sleep 1
tn status

say "3. Stickiness: every client address asks 3 times, each gets one server"
snapshot "$RUN/a"; snapshot "$RUN/b"; snapshot "$RUN/c"
awk '{printf "   client %-13s -> server %s%s", "'"$LAB_NET"'.1."$1, $2, (NR % 4 == 0 ? "\n" : "   ")}' "$RUN/a"
echo
changed=$(paste "$RUN/a" "$RUN/b" "$RUN/c" | awk '$2 != $4 || $2 != $6 || $2 == "-"' | wc -l)
if [ "$changed" -eq 0 ]; then
	note "sticky: $LAB_CLIENTS clients x 3 requests, every client always answered by the same server"
else
	bad "$changed clients were not answered consistently"
fi

say "4. The split against the weights (1 : 1 : 2)"
for s in 1 2 3; do
	n=$(awk -v s="$s" '$2 == s' "$RUN/a" | wc -l)
	w=$([ "$s" = 3 ] && echo 2 || echo 1)
	printf '   server %s  weight %s  expected %5.1f%%  got %3d clients (%5.1f%%)\n' \
		"$s" "$w" "$((w * 25))" "$n" \
		"$(awk -v n="$n" -v t="$LAB_CLIENTS" 'BEGIN{print 100*n/t}')"
done

say "5. A weight change, staged, then applied by refresh"
note "\$ tenace server set 1 3 --weight 1"
tn server set 1 3 --weight 1
note "\$ tenace pending"
tn pending
snapshot "$RUN/d"
moved=$(paste "$RUN/a" "$RUN/d" | awk '$2 != $4' | wc -l)
note "before refresh: $moved clients moved (staged changes do not touch traffic)"
note "\$ tenace refresh --wait"
tn refresh --wait
snapshot "$RUN/e"
moved=$(paste "$RUN/a" "$RUN/e" | awk '$2 != $4' | wc -l)
note "after refresh: $moved of $LAB_CLIENTS clients moved (tracked clients keep their server: no session lost)"
[ "$moved" -eq 0 ] || bad "a refresh moved $moved tracked clients"

say "6. Server 2 stops: only its clients move, within about one probe interval"
victims=$(awk '$2 == 2 {print $1}' "$RUN/e")
nv=$(echo "$victims" | grep -c .)
first=$(echo "$victims" | head -n1)
lab_server_stop 2
t0=$(date +%s.%N)
for _ in $(seq 60); do
	s=$(server_of "$first")
	[ "$s" != "-" ] && [ "$s" != 2 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
note "client $LAB_NET.1.$first moved to server $s after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
grep -E "server 2 .* down" "$RUN/controller.log" | tail -n1 | sed 's/^/   log: /'
snapshot "$RUN/f"
others_moved=$(paste "$RUN/e" "$RUN/f" | awk '$2 != 2 && $2 != $4' | wc -l)
victims_moved=$(paste "$RUN/e" "$RUN/f" | awk '$2 == 2 && $4 != 2 && $4 != "-"' | wc -l)
note "$victims_moved of $nv clients of server 2 moved; $others_moved other clients moved"
[ "$others_moved" -eq 0 ] || bad "clients of healthy servers moved"
[ "$victims_moved" -eq "$nv" ] || bad "not every client of server 2 moved"
tn status

say "7. Server 2 comes back: it gets new clients only, nobody moves back"
ups=$(grep -cE "server 2 .* up" "$RUN/controller.log")
lab_server_start 2
# wait for a new "up" line (the log already holds the first one)
for _ in $(seq 50); do [ "$(grep -cE "server 2 .* up" "$RUN/controller.log")" -gt "$ups" ] && break; sleep 0.2; done
grep -E "server 2 .* up" "$RUN/controller.log" | tail -n1 | sed 's/^/   log: /'
snapshot "$RUN/g"
back=$(paste "$RUN/f" "$RUN/g" | awk '$2 != $4' | wc -l)
note "$back clients moved when server 2 came back"
[ "$back" -eq 0 ] || bad "clients moved back"

say "8. Counters"
tn stats

echo
if [ "$FAIL" -eq 0 ]; then
	echo "demo: all checks passed"
else
	echo "demo: some checks FAILED"
fi
exit "$FAIL"
