#!/bin/bash
# The README's walkthrough, run exactly as written (the block between its
# walkthrough markers) on the lab's balancer, with `tenace` on PATH and the
# default socket and pin directory; then traffic from the lab's clients
# through what it built: every client answered, each by one server, both
# servers used.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
LAB_P="tnrd$(($$ % 10000))"
LAB_SERVERS=2
LAB_CLIENTS=30
. "$TN_ROOT/scripts/lab.sh"

TMP=$(mktemp -d /tmp/tenace-readme-XXXXXX)
run_pid() { pgrep -f -- "--config tenace.json --state applied.json" | head -n 1; }
cleanup() {
	local p
	p=$(run_pid)
	[ -n "$p" ] && kill "$p" 2>/dev/null && sleep 0.5
	lab_netns lb "$TN_BIN" unload eth0 --all >/dev/null 2>&1
	lab_down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
ensure_bpffs

# the block, as the README has it
awk '/<!-- walkthrough:begin -->/ {on = 1; next} /<!-- walkthrough:end -->/ {on = 0} on' "$TN_ROOT/README.md" |
	sed '/^```/d' >"$TMP/walkthrough.sh"
check "the README has a walkthrough block ($(wc -l <"$TMP/walkthrough.sh") lines)" [ "$(wc -l <"$TMP/walkthrough.sh")" -ge 8 ]
if [ -S /run/tenace/tenace.sock ] && curl -s -o /dev/null --unix-socket /run/tenace/tenace.sock http://localhost/v1/status; then
	not_ok "a controller already runs on the default socket /run/tenace/tenace.sock: the walkthrough needs it"
	tap_done
	exit 1
fi

if ! lab_up >"$TMP/lab.log" 2>&1; then
	not_ok "lab set up"
	sed 's/^/# /' "$TMP/lab.log"
	exit 1
fi
lab_server_start 1 && lab_server_start 2
mkdir -p "$TMP/bin" "$TMP/work"
ln -s "$TN_BIN" "$TMP/bin/tenace"
(cd "$TMP/work" && timeout 120 nsenter --net="/run/netns/$LAB_P-lb" env PATH="$TMP/bin:$PATH" \
	bash -e "$TMP/walkthrough.sh") >"$TMP/out" 2>&1
rc=$?
check_eq "the walkthrough runs to its end (bash -e)" 0 "$rc"
check "tenace refresh --wait said done" grep -qE '^task [0-9]+: done' "$TMP/out"
check "tenace status shows eth0 attached natively" grep -qE '^eth0 +[0-9]+ +native' "$TMP/out"
check "tenace status shows both servers up" bash -c "grep -E '^[12] +10\.99\.0\.1[12] ' '$TMP/out' | grep -c ' up ' | grep -qx 2"

# traffic through it
for i in $(seq 1 "$LAB_CLIENTS"); do echo "$i $(lab_request "$i")"; done >"$TMP/a1"
for i in $(seq 1 "$LAB_CLIENTS"); do echo "$i $(lab_request "$i")"; done >"$TMP/a2"
answered=$(grep -c ' server [12]$' "$TMP/a1")
check_eq "every one of the $LAB_CLIENTS clients is answered" "$LAB_CLIENTS" "$answered"
check_eq "each client by the same server the second time" "" "$(diff "$TMP/a1" "$TMP/a2")"
n1=$(grep -c ' server 1$' "$TMP/a1")
n2=$(grep -c ' server 2$' "$TMP/a1")
check "both servers used (server 1: $n1, server 2 with weight 2: $n2 clients)" [ "$n1" -ge 1 ] && [ "$n2" -ge 1 ]
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$TMP/out'"
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/out" | tail -40
tap_done
