#!/bin/bash
# The HTTP API under random and mutated requests (malformed JSON, wrong types,
# unknown fields, huge numbers, random bytes, wrong methods and routes), from
# four clients at once, against the ASan/UBSan controller: it keeps answering
# within the contract, its staged configuration stays a valid document that
# `tenace run` accepts, a refresh still works, and it stops clean.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d /tmp/tenace-apifuzz-XXXXXX)
PIN=/sys/fs/bpf/tenace-apifuzz-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
CTL_PID=
# a configuration names the interfaces the controller attaches to: a veth of this run
IFACE=tnfz$$
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	"$TN_BIN" unload --all --pin-dir "$PIN" >/dev/null 2>&1
	ip link del "$IFACE" 2>/dev/null
	ip link del "${IFACE}c" 2>/dev/null
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
ip link add "$IFACE" type veth peer name "${IFACE}p" || exit 1
ip link add "${IFACE}c" type veth peer name "${IFACE}q" || exit 1

cat >"$CFG" <<JSON
{
  "zone": "fuzz",
  "interfaces": ["$IFACE"],
  "tableSize": 1021,
  "conntrack": {"size": 10000},
  "farms": [
    {"farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp",
     "servers": [{"serverId": 1, "address": "192.0.2.10", "mac": "02:00:00:00:00:0a"}]}
  ],
  "frontends": [
    {"frontendId": 1, "type": "tcp", "vip": ["198.51.100.1"], "port": "80", "defaultFarmId": 1}
  ]
}
JSON
"$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" --state "$TMP/applied.json" \
	>"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
wait_for 20 test -S "$SOCK"
check "the controller is up" [ -S "$SOCK" ]

pids=()
for seed in 1 2 3 4; do
	python3 "$TN_ROOT/tests/integration/helpers/api_fuzz.py" "$SOCK" 750 "$seed" >"$TMP/fuzz$seed.log" 2>&1 &
	pids+=($!)
done
for i in 0 1 2 3; do
	wait "${pids[$i]}"
	rc=$?
	check "client $((i + 1)): 750 random requests answered within the contract" [ "$rc" -eq 0 ]
	[ "$rc" -ne 0 ] && sed 's/^/# /' "$TMP/fuzz$((i + 1)).log" | tail -12
	tail -n1 "$TMP/fuzz$((i + 1)).log" | sed 's/^/# /'
done
check "the controller is still running" kill -0 "$CTL_PID"

# the staged configuration is still a document the controller accepts
# (checked by a second controller on an interface of its own: the first
# controller's interface belongs to it)
curl -s --unix-socket "$SOCK" http://localhost/v1/config | python3 -c '
import json, sys; c = json.load(sys.stdin); c["interfaces"] = [sys.argv[1]]; json.dump(c, sys.stdout)' \
	"${IFACE}c" >"$TMP/staged.json"
"$TN_BIN" run --config "$TMP/staged.json" --socket "$TMP/check.sock" --pin-dir "$PIN-check" \
	--state "$TMP/check.json" >"$TMP/check.log" 2>&1 &
chk=$!
wait_for 20 test -S "$TMP/check.sock"
check "GET /v1/config after the fuzzing is a valid configuration" [ -S "$TMP/check.sock" ]
kill "$chk" 2>/dev/null; wait "$chk" 2>/dev/null
"$TN_BIN" unload --all --pin-dir "$PIN-check" >/dev/null 2>&1
rm -rf "$PIN-check"
[ -S "$TMP/check.sock" ] || sed 's/^/# /' "$TMP/check.log" | tail -5

out=$("$TN_BIN" --socket "$SOCK" refresh --wait 2>&1)
check "a refresh of what the fuzzing staged is done" grep -q ": done" <<<"$out"
[ "$_tap_failed" -ne 0 ] && echo "# refresh: $out"

# everything the API accepted loads again: restart the controller on the file
# the API wrote and compare what it serves and stages
curl -s --unix-socket "$SOCK" http://localhost/v1/config >"$TMP/before.json"
ctl_stop_clean "$TMP/ctl.log"
"$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" --state "$TMP/applied.json" \
	>"$TMP/ctl2.log" 2>&1 &
CTL_PID=$!
wait_for 20 test -S "$SOCK"
check "the controller restarts on the configuration the API wrote" [ -S "$SOCK" ]
curl -s --unix-socket "$SOCK" http://localhost/v1/config >"$TMP/after.json"
check "after the restart it stages the same configuration" python3 -c "import json,sys; sys.exit(json.load(open('$TMP/before.json')) != json.load(open('$TMP/after.json')))"
check_eq "after the restart nothing is pending (the refresh applied it all)" "[]" \
	"$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges | tr -d ' \n')"
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/ctl2.log" | tail -20
ctl_stop_clean "$TMP/ctl2.log"
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/ctl.log" | tail -30
tap_done
