#!/bin/bash
# The controller's HTTP API against a running `tenace run` (no traffic here;
# controller.sh checks forwarding): socket mode, routes and errors, staged
# changes and refresh tasks, 100 concurrent clients, the token-protected TCP
# listener, the CLI's output and exit codes, one controller per pin
# directory, clean shutdown under ASan.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d /tmp/tenace-api-XXXXXX)
PIN=/sys/fs/bpf/tenace-api-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
PORT=$((20000 + $$ % 20000))
CTL_PID=
# a configuration names the interfaces the controller attaches to: a veth of this run
IFACE=tnapi$$
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	"$TN_BIN" unload --all --pin-dir "$PIN" >/dev/null 2>&1
	ip link del "$IFACE" 2>/dev/null
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
ip link add "$IFACE" type veth peer name "${IFACE}p" || exit 1

cat >"$CFG" <<JSON
{
  "zone": "rbx",
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
printf 'api-secret-token-%s\n' "$$" >"$TMP/token"
chmod 600 "$TMP/token"

# --listen without a token file: refused
"$TN_BIN" run --config "$CFG" --socket "$TMP/other.sock" --pin-dir "$PIN" --listen "127.0.0.1:$PORT" >"$TMP/refused.log" 2>&1
rc=$?
check "--listen without --token-file refuses to start" [ "$rc" -ne 0 ]
check "the refusal says why" grep -q "token-file" "$TMP/refused.log"

"$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" --listen "127.0.0.1:$PORT" \
	--token-file "$TMP/token" >"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "the controller listens on its socket" [ -S "$SOCK" ]
check_eq "socket mode is 0600" "600" "$(stat -c %a "$SOCK")"

api() { # METHOD PATH [BODY] -> prints "STATUS BODY"
	local args=(-s -o "$TMP/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" "http://localhost$2")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	local code
	code=$(curl "${args[@]}")
	echo "$code $(cat "$TMP/body")"
}
status_of() { api "$@" | cut -d' ' -f1; }
quiet() { "$@" >/dev/null 2>&1; }

generation() { "$TN_BIN" --socket "$SOCK" -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["farms"][0]["generation"])'; }

# a second controller on the same pin directory is refused before it touches anything
gen1=$(generation)
state1=$(stat -c %i "$TMP/applied.json" 2>/dev/null)
"$TN_BIN" run --config "$CFG" --socket "$TMP/second.sock" --pin-dir "$PIN" >"$TMP/second.log" 2>&1
rc=$?
check "a second controller on the same pin directory refuses to start" [ "$rc" -ne 0 ]
check "the refusal names the pin directory" \
	grep -q "another tenace controller is running on pin directory $PIN" "$TMP/second.log"
check "the second controller opened no socket" [ ! -e "$TMP/second.sock" ]
check_eq "the data plane was not touched (same farm generation)" "$gen1" "$(generation)"
check_eq "the state file was not rewritten" "$state1" "$(stat -c %i "$TMP/applied.json" 2>/dev/null)"
check "the first controller is still running" kill -0 "$CTL_PID"

check_eq "GET /v1/status" 200 "$(status_of GET /v1/status)"
check_eq "GET /v1/config" 200 "$(status_of GET /v1/config)"
check_eq "GET /v1/tcp/farm/1" 200 "$(status_of GET /v1/tcp/farm/1)"
check_eq "unknown farm is 404" 404 "$(status_of GET /v1/tcp/farm/42)"
check_eq "unknown route is 404" 404 "$(status_of GET /v1/nothing/here)"
check_eq "wrong method is 405" 405 "$(status_of DELETE /v1/tcp/farm)"
allow=$(curl -s -i --unix-socket "$SOCK" -X PATCH http://localhost/v1/tcp/farm | tr -d '\r' | grep -i '^Allow:')
check_eq "405 carries Allow" "Allow: GET, POST" "$allow"
check_eq "malformed JSON is 400" 400 "$(status_of POST /v1/tcp/farm '{"port": 80')"
check_eq "wrong type is 400" 400 "$(status_of POST /v1/tcp/farm '{"port": "eighty"}')"
out=$(api POST /v1/tcp/farm '{"port": 80, "colour": "blue"}')
check_eq "unknown field is 400" 400 "${out%% *}"
check "the error names the field" grep -q '"field":"colour"' <<<"$out"
check_eq "huge number is 400" 400 "$(status_of POST /v1/tcp/farm '{"port": 123456789012345678901234567890}')"
check_eq "a JSON array body is 400" 400 "$(status_of POST /v1/tcp/farm '[]')"
out=$(api PUT /v1/tcp/farm/1/server/1 '{"weight": 300}')
check_eq "weight 300 is 400" 400 "${out%% *}"
check "the message gives the rule" grep -q '0..256' <<<"$out"
check_eq "a frontend on a used VIP and port is 409" 409 \
	"$(status_of POST /v1/tcp/frontend '{"vip": ["198.51.100.1"], "port": "80", "defaultFarmId": 1}')"
check_eq "deleting a farm in use is 409" 409 "$(status_of DELETE /v1/tcp/farm/1)"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$TMP/big"
big=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
	--data-binary @"$TMP/big" http://localhost/v1/tcp/farm)
check_eq "a body over 1 MiB is 413" 413 "$big"
check_eq "nothing staged by rejected requests" "[]" "$(api GET /v1/pendingChanges | cut -d' ' -f2-)"

# staged changes and a refresh task
out=$(api POST /v1/tcp/farm/1/server '{"address": "192.0.2.11", "mac": "02:00:00:00:00:0b", "weight": 3}')
check_eq "POST a server is 201" 201 "${out%% *}"
check_eq "pending counts the change" '[{"zone":"rbx","number":1}]' "$(api GET /v1/pendingChanges | cut -d' ' -f2-)"
check "the config file was written back" grep -q '192.0.2.11' "$CFG"
gen_before=$(generation)
check_eq "unknown zone is 400" 400 "$(status_of POST /v1/refresh '{"zone": "nowhere"}')"
task=$(api POST /v1/refresh '{"zone": "rbx"}' | cut -d' ' -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
st=
for _ in $(seq 50); do
	st=$(api GET "/v1/task/$task" | cut -d' ' -f2- | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
	[ "$st" = done ] || [ "$st" = error ] && break
	sleep 0.1
done
check_eq "the refresh task is done" done "$st"
gen_after=$(generation)
check "the refresh swapped the farm (generation $gen_before -> $gen_after)" [ "$gen_after" -gt "$gen_before" ]
check_eq "nothing pending after the refresh" "[]" "$(api GET /v1/pendingChanges | cut -d' ' -f2-)"

# 100 concurrent clients (reads and writes)
for i in $(seq 100); do
	if [ $((i % 10)) -eq 0 ]; then
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" -X POST \
			--data-binary "{\"address\": \"192.0.2.$((100 + i))\", \"mac\": \"02:00:00:00:01:$((10 + i / 10))\"}" \
			http://localhost/v1/tcp/farm/1/server >"$TMP/c$i" &
	else
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" http://localhost/v1/status >"$TMP/c$i" &
	fi
done
wait $(jobs -p | grep -v "^$CTL_PID\$") 2>/dev/null
ok200=$(cat "$TMP"/c* | grep -cE '^(200|201)$')
check_eq "100 concurrent clients all answered" 100 "$ok200"
nsrv=$(api GET /v1/tcp/farm/1/server | cut -d' ' -f2- | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check_eq "10 concurrent POSTs made 10 servers (2 + 10)" 12 "$nsrv"
check "the controller survived" kill -0 "$CTL_PID"

# the TCP listener and its token
check_eq "TCP without a token is 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/status")"
check_eq "TCP with a wrong token is 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "http://127.0.0.1:$PORT/v1/status")"
check_eq "TCP with the token is 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer api-secret-token-$$" "http://127.0.0.1:$PORT/v1/status")"
check "the CLI over TCP with --token-file" quiet "$TN_BIN" --url "http://127.0.0.1:$PORT" --token-file "$TMP/token" farm list
check "the CLI over TCP without a token fails" bash -c "! '$TN_BIN' --url http://127.0.0.1:$PORT farm list 2>/dev/null"

# the CLI
C=("$TN_BIN" --socket "$SOCK")
out=$("${C[@]}" farm add --type udp --port 53 --name dns --probe-type tcp --probe-interval 0.5)
check "CLI farm add" grep -q "created udp farm 1" <<<"$out"
check "CLI server add" quiet "${C[@]}" server add 1 --type udp --address 192.0.2.53 --mac 02:00:00:00:00:35 --backup
check "CLI frontend add" quiet "${C[@]}" frontend add --type udp --vip 198.51.100.1 --port 53 --farm 1 --deny 203.0.113.0/24
out=$("${C[@]}" pending)
check "CLI pending shows the zone (10 concurrent POSTs + farm, server, frontend)" grep -qE '^rbx +13$' <<<"$out"
out=$("${C[@]}" farm list --type udp)
check "CLI farm list is a table" grep -qE '^1 +udp +dns +53 +source +none' <<<"$out"
check "CLI -j prints JSON" bash -c "'${C[0]}' --socket '$SOCK' -j server list 1 --type udp | python3 -c 'import json,sys; assert json.load(sys.stdin)[0][\"backup\"] is True'"
out=$("${C[@]}" server set 1 1 --weight 999 2>&1)
rc=$?
check "CLI failure exits non-zero" [ "$rc" -ne 0 ]
check "CLI failure prints the API's message" grep -q "0..256" <<<"$out"
out=$("${C[@]}" refresh --wait)
check "CLI refresh --wait" grep -q "done" <<<"$out"
out=$("${C[@]}" status)
check "CLI status lists the udp farm" grep -q "udp farm 1" <<<"$out"
check "CLI stats" quiet "${C[@]}" stats
# stats --watch redraws like top until interrupted
timeout --preserve-status -s INT 2.5 "${C[@]}" stats --watch >"$TMP/watch.out" 2>&1
rc=$?
check_eq "stats --watch stops cleanly on Ctrl-C" 0 "$rc"
check "stats --watch redrew at least twice" [ "$(grep -c '^REASON' "$TMP/watch.out")" -ge 2 ]
check "tenace --help" quiet "$TN_BIN" --help
check "tenace farm --help" quiet "$TN_BIN" farm --help
metrics=$(curl -s --unix-socket "$SOCK" http://localhost/metrics)
printf '%s\n' "$metrics" >"$TMP/metrics"
check "metrics: packets by verdict" grep -q '^tenace_packets_total{verdict="xdp_tx"}' <<<"$metrics"
has_metric() { grep -q "$1" <<<"$metrics"; }
check "metrics: conntrack lookups in their own family" has_metric '^tenace_conntrack_lookups_total{result="new"}'
check "metrics: and never among the verdicts" bash -c "! grep -q 'verdict=\"conntrack_' '$TMP/metrics'"
check "metrics: server up gauge, no address label" grep -q '^tenace_server_up{type="tcp",farm="1",server="1"} ' <<<"$metrics"
check "metrics: probe transitions per server" grep -q '^tenace_probe_transitions_total{type="tcp",farm="1",server="1"} ' <<<"$metrics"
check "metrics: bytes per VIP" has_metric '^tenace_vip_bytes_total{'
check "metrics: bytes per server" has_metric '^tenace_server_bytes_total{'
check "metrics: each farm's generation" has_metric '^tenace_farm_generation{type="tcp",farm="1"} '
# the udp farm's server is probed (tcp, unreachable): its checks and their durations
probe_metrics() { curl -s --unix-socket "$SOCK" http://localhost/metrics | grep '^tenace_probe_[a-z_]*{type="udp",farm="1",server="1"}'; }
check "metrics: probe checks counted per server" wait_for 30 bash -c \
	"curl -s --unix-socket '$SOCK' http://localhost/metrics | awk '\$1 == \"tenace_probe_checks_total{type=\\\"udp\\\",farm=\\\"1\\\",server=\\\"1\\\"}\" && \$2 >= 1 { f = 1 } END { exit !f }'"
pm=$(probe_metrics)
check "metrics: the last probe's duration per server" grep -qE '^tenace_probe_duration_seconds\{[^}]*\} [0-9]+\.[0-9]+$' <<<"$pm"
check "metrics: the unreachable server's failed checks counted" \
	awk '$1 ~ /^tenace_probe_failures_total/ && $2 >= 1 { f = 1 } END { exit !f }' <<<"$pm"
check "metrics: no probe samples for a server without a probe" bash -c "! grep -q '^tenace_probe_checks_total{type=\"tcp\"' '$TMP/metrics'"
check "metrics: each interface's attach state" has_metric '^tenace_interface_attached{interface="'


# round trip: GET /v1/config is a config file the controller accepts
api GET /v1/config | cut -d' ' -f2- >"$TMP/roundtrip.json"
check "GET /v1/config equals the written-back file" python3 -c "
import json,sys
a=json.load(open('$TMP/roundtrip.json')); b=json.load(open('$CFG')); sys.exit(a!=b)"

# a hand edit of the file is never overwritten by the API: 409 until it is loaded
python3 - "$CFG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["farms"][0]["displayName"] = "edited-by-hand"
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
out=$(api POST /v1/tcp/farm/1/server '{"address": "192.0.2.77", "mac": "02:00:00:00:00:77"}')
check_eq "after a hand edit, an API change is refused with 409" 409 "${out%% *}"
check "naming the file and what to do" grep -qF "was changed on disk since the controller read it" <<<"$out"
check "the hand edit is still in the file" grep -q '"edited-by-hand"' "$CFG"
kill -HUP "$CTL_PID"
check "SIGHUP loads the edited file" wait_for 10 bash -c "curl -s --unix-socket '$SOCK' http://localhost/v1/tcp/farm/1 | grep -q edited-by-hand"
out=$(api POST /v1/tcp/farm/1/server '{"address": "192.0.2.77", "mac": "02:00:00:00:00:77"}')
check_eq "then the API change is accepted" 201 "${out%% *}"
check "and the file holds both" bash -c "grep -q edited-by-hand '$CFG' && grep -q 192.0.2.77 '$CFG'"

# clean shutdown: SIGTERM, exit 0, no sanitizer report
ctl_stop_clean "$TMP/ctl.log"
check "the socket is removed" [ ! -e "$SOCK" ]
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/ctl.log" | tail -40
tap_done
