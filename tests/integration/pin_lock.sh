#!/bin/bash
# One owner per data plane: while a controller runs on a pin directory,
# `tenace load` and `tenace unload --all` on it are refused (its program and
# maps untouched); once it stopped, `unload --all` detaches every interface
# that runs that data plane and removes its maps.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d /tmp/tenace-pinlock-XXXXXX)
PIN=/sys/fs/bpf/tenace-pinlock-$$
SOCK=$TMP/tenace.sock
IF1=tnpl$$a IF2=tnpl$$b
CTL_PID=
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	ip link del "$IF1" 2>/dev/null
	ip link del "$IF2" 2>/dev/null
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
ip link add "$IF1" type veth peer name "${IF1}p" || exit 1
ip link add "$IF2" type veth peer name "${IF2}p" || exit 1
prog_id() { ip -j link show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("xdp", {}).get("prog", {}).get("id", "none"))'; }

cat >"$TMP/tenace.json" <<JSON
{"interfaces": ["$IF1", "$IF2"], "tableSize": 1021,
 "farms": [{"farmId": 1, "type": "tcp", "port": 80,
            "servers": [{"serverId": 1, "address": "192.0.2.10", "mac": "02:00:00:00:00:0a"}]}]}
JSON
"$TN_BIN" run --config "$TMP/tenace.json" --socket "$SOCK" --pin-dir "$PIN" --state "$TMP/applied.json" \
	>"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
wait_for 20 test -S "$SOCK"
p1=$(prog_id "$IF1")
check "the controller attached to both interfaces (program $p1)" [ "$p1" != none ] && [ "$(prog_id "$IF2")" = "$p1" ]

out=$("$TN_BIN" load "$IF1" --pin-dir "$PIN" --tcp-timeout 60 2>&1)
rc=$?
check "load on the controller's pin directory is refused (exit $rc)" [ "$rc" -ne 0 ]
check "and says a controller owns it" grep -qF "another tenace controller is running on pin directory $PIN (load refused" <<<"$out"
check_eq "the program is untouched" "$p1" "$(prog_id "$IF1")"
out=$("$TN_BIN" unload --all --pin-dir "$PIN" 2>&1)
rc=$?
check "unload --all while the controller runs is refused (exit $rc)" [ "$rc" -ne 0 ]
check "and says so" grep -qF "(unload --all refused" <<<"$out"
check "the maps are still pinned" [ -e "$PIN/conntrack" ]
check_eq "the program is still attached to both" "$p1 $p1" "$(prog_id "$IF1") $(prog_id "$IF2")"
check_eq "the controller still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/v1/status)"

kill -TERM "$CTL_PID"
wait "$CTL_PID"
CTL_PID=
check_eq "after SIGTERM the data plane keeps running" "$p1 $p1" "$(prog_id "$IF1") $(prog_id "$IF2")"
out=$("$TN_BIN" unload --all --pin-dir "$PIN" 2>&1)
rc=$?
check_eq "then unload --all succeeds" 0 "$rc"
check_eq "and detaches both interfaces" "none none" "$(prog_id "$IF1") $(prog_id "$IF2")"
check "naming them" bash -c "grep -qF 'detached from $IF1' <<<'$out' && grep -qF 'detached from $IF2' <<<'$out'"
check "and removes the pinned maps" [ ! -e "$PIN" ]
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$TMP/ctl.log'"
tap_done
