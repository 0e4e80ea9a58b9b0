#!/bin/bash
# User code under valgrind (memcheck): the unit tests built without
# sanitizers, then the controller itself (BPF maps, API, refresh, counters,
# clean shutdown) and the CLI client. Any memcheck error or leak fails.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
cd "$TN_ROOT" || exit 1

VG=(valgrind -q --suppressions="$TN_ROOT/tests/valgrind.supp" --error-exitcode=99
    --leak-check=full --errors-for-leak-kinds=definite,indirect)
TMP=$(mktemp -d /tmp/tenace-vg-XXXXXX)
PIN=/sys/fs/bpf/tenace-vg-$$
SOCK=$TMP/tenace.sock
CTL_PID=
# a configuration names the interfaces the controller attaches to: a veth of this run
IFACE=tnvg$$
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	build/tenace unload --all --pin-dir "$PIN" >/dev/null 2>&1
	ip link del "$IFACE" 2>/dev/null
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
ip link add "$IFACE" type veth peer name "${IFACE}p" || exit 1
export CMOCKA_MESSAGE_OUTPUT=TAP

# test_probe is left out: its servers answer within tight timeouts that
# valgrind's slowdown would turn into false failures (ASan covers it).
# test_probe_runner's timeouts (1 s for a 200 ms answer) leave room for it.
for t in test_config test_maglev test_probe_proto test_probe_runner test_cli test_controller test_control_locks test_hash test_pktgen test_bgp test_bgp_speaker test_config_encap test_control_encap test_preview; do
	"${VG[@]}" "build/vg/$t" >"$TMP/$t.log" 2>&1
	rc=$?
	n=$(grep -c '^ok' "$TMP/$t.log")
	if [ "$rc" -eq 0 ] && ! grep -q '^not ok' "$TMP/$t.log"; then
		ok "valgrind: $t ($n cases) clean"
	else
		not_ok "valgrind: $t exited $rc"
		grep -E '^not ok|==[0-9]+==' "$TMP/$t.log" | head -20
	fi
done

cat >"$TMP/tenace.json" <<JSON
{
  "zone": "vg",
  "interfaces": ["$IFACE"],
  "tableSize": 1021,
  "conntrack": {"size": 4096},
  "farms": [
    {"farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp",
     "servers": [{"serverId": 1, "address": "192.0.2.10", "mac": "02:00:00:00:00:0a"},
                 {"serverId": 2, "address": "192.0.2.11", "mac": "02:00:00:00:00:0b", "weight": 3}]}
  ],
  "frontends": [
    {"frontendId": 1, "type": "tcp", "vip": ["198.51.100.1"], "port": "80,443", "defaultFarmId": 1,
     "deniedSource": ["203.0.113.0/24"]}
  ]
}
JSON
"${VG[@]}" build/tenace run --config "$TMP/tenace.json" --socket "$SOCK" --pin-dir "$PIN" \
	>"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
for _ in $(seq 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "controller under valgrind serves its socket" [ -S "$SOCK" ]

cli() { "${VG[@]}" build/tenace --socket "$SOCK" "$@" >>"$TMP/cli.log" 2>&1; }
check "valgrind: tenace server add" cli server add 1 --address 192.0.2.12 --mac 02:00:00:00:00:0c --weight 2
check "valgrind: tenace pending" cli pending
check "valgrind: tenace pending --detail (a preview: Maglev builds, a conntrack walk)" cli pending --detail
check "valgrind: tenace refresh --dry-run -j" cli -j refresh --dry-run
cli refresh --max-moved 0%
check "valgrind: tenace refresh --max-moved 0% (no tracked client moves: applied)" [ $? -eq 0 ]
check "valgrind: tenace refresh --wait" cli refresh --wait
check "valgrind: tenace status" cli status
check "valgrind: tenace stats -j" cli -j stats
check "valgrind: tenace farm list" cli farm list
cli server set 1 99 --weight 1
check "valgrind: a request for a server that does not exist exits 4 (no memcheck error)" [ $? -eq 4 ]
api() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X "$1" "http://localhost$2" \
	${3:+-H 'Content-Type: application/json' --data-binary "$3"}; }
check_eq "bad JSON body is 400" 400 "$(api POST /v1/tcp/farm '{"port": ')"
check_eq "weight out of range is 400" 400 "$(api PUT /v1/tcp/farm/1/server/1 '{"weight": 300}')"
check_eq "metrics" 200 "$(api GET /metrics)"
check_eq "config" 200 "$(api GET /v1/config)"
kill -TERM "$CTL_PID"
wait "$CTL_PID"
rc=$?
CTL_PID=
if [ "$rc" -eq 0 ]; then
	ok "valgrind: controller ran and stopped clean"
else
	not_ok "valgrind: controller exited $rc"
	grep -E '==[0-9]+==' "$TMP/ctl.log" | head -40
fi
tap_done
