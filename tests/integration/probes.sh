#!/bin/bash
# Every probe type through the whole stack (issue 5): configuration ->
# controller -> probe engine -> health in `tenace -j status` and the log,
# against real servers in the lab's namespaces (tests/integration/helpers/
# greeters.py speaks just enough of each protocol):
#   server 1 (namespace s1): a correct greeter per protocol     -> up
#   server 2 (namespace s2): nothing listening (dead port)      -> down, refused
#   server 3 (namespace s3): a wrong greeter, one misbehaviour
#            per protocol (full accept queue, 503 / wrong body,
#            554 banner, garbage, hang)                          -> down, why
#   server 4 (namespace s3, another port): a second misbehaviour
#            (hang, close at once, 502 to EHLO, 'X' answer)     -> down, why
# Then one greeter of server 1 stops (down within interval x fall) and comes
# back (up after rise), and a configuration with an "oco" probe is refused.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tnpr$(($$ % 10000))" LAB_CLIENTS=1 LAB_SERVERS=3
. "$TN_ROOT/scripts/lab.sh"

RUN="$(mktemp -d /tmp/tenace-probes.XXXXXX)"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
PIN_OCO="/sys/fs/bpf/$LAB_P-oco"
GREETERS="$TN_ROOT/tests/integration/helpers/greeters.py"
PY="$(command -v /usr/bin/python3 || command -v python3)"
CTL_PID=""
declare -A GPID=()

# probe timing (seconds): a server goes down after FALL failures, up after RISE successes
INTERVAL=0.4
TIMEOUT=0.3
RISE=2
FALL=2
MARGIN_MS=1000 # scheduling, the status poll, a loaded machine, sanitizers

cleanup() {
	trap - EXIT
	local n
	for n in "${!GPID[@]}"; do kill "${GPID[$n]}" 2>/dev/null; done
	ctl_stop 60
	wait 2>/dev/null
	rm -rf "$PIN_OCO" 2>/dev/null
	lab_down >/dev/null 2>&1
	[ -n "${KEEP_RUN:-}" ] || rm -rf "$RUN"
}
trap cleanup EXIT

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# wait_ms MS COMMAND...: poll every 0.1 s until COMMAND succeeds, at most MS
wait_ms() {
	local end=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}
ms_of() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

# greeter NAME NAMESPACE SPEC...: start greeters.py in a server namespace,
# wait until its listeners are bound
greeter() {
	local name="$1" ns="$2"
	shift 2
	rm -f "$RUN/g-$name.ready"
	nsenter --net="/run/netns/$LAB_P-$ns" "$PY" "$GREETERS" --ready "$RUN/g-$name.ready" "$@" \
		>>"$RUN/g-$name.log" 2>&1 &
	GPID[$name]=$!
	wait_ms 5000 test -s "$RUN/g-$name.ready"
}
greeter_stop() {
	kill "${GPID[$1]}" 2>/dev/null
	wait "${GPID[$1]}" 2>/dev/null
	unset "GPID[$1]"
}

# the status document, fetched once per round
status() { tn -j status >"$RUN/status.json" 2>/dev/null; }
# field FARM SERVER JQ-EXPR (from the last status())
field() {
	jq -r --argjson f "$1" --argjson s "$2" \
		".farms[] | select(.farmId == \$f) | .servers[] | select(.serverId == \$s) | $3" "$RUN/status.json"
}
state_now() { status && [ "$(field "$1" "$2" .state)" = "$3" ]; }
# every server has a decided health (no "unknown"/"unresolved" left)
all_known() {
	status || return 1
	[ "$(jq '[.farms[].servers[] | select(.health != "up" and .health != "down")] | length' \
		"$RUN/status.json")" = 0 ]
}

A1=$(lab_server_addr 1)
A2=$(lab_server_addr 2)
A3=$(lab_server_addr 3)

# ---- the lab and its servers ------------------------------------------------------
# every namespace holds its address (a half-built lab fails here, not later)
lab_ready() {
	local i
	ip -n "$LAB_P-lb" -4 addr show dev eth0 2>/dev/null | grep -qF " $LAB_LB/" || return 1
	for i in $(seq 1 "$LAB_SERVERS"); do
		ip -n "$LAB_P-s$i" -4 addr show dev eth0 2>/dev/null | grep -qF " $(lab_server_addr "$i")/" || return 1
	done
}
ensure_bpffs
lab_up
lab_ready || { not_ok "build the lab ($LAB_P)"; exit 1; }
started=$SECONDS
ok=1
# server 1: a correct greeter per protocol, one process each (one is stopped later)
greeter s1-tcp s1 tcp:7000:good || ok=0
greeter s1-http s1 http:8080:good || ok=0
greeter s1-smtp s1 smtp:25:good || ok=0
greeter s1-mysql s1 mysql:3306:good || ok=0
greeter s1-pgsql s1 pgsql:5432:good || ok=0
# server 2: nothing. servers 3 and 4 (namespace s3): the wrong ones
greeter s3 s3 tcp:7000:hang tcp:7001:good \
	http:8080:wrong http:8081:hang http:8082:close \
	smtp:25:wrong smtp:2526:ehlo502 \
	mysql:3306:garbage mysql:3307:close \
	pgsql:5432:hang pgsql:5433:wrong || ok=0
if [ "$ok" = 1 ]; then ok "greeters listening in namespaces s1 and s3"; else
	not_ok "greeters listening in namespaces s1 and s3"
	tail -n 5 "$RUN"/g-*.log | sed 's/^/# /'
	exit 1
fi

# ---- the configuration: a farm per probe type --------------------------------------
probe() { # TYPE [EXTRA-JSON]
	echo "{\"type\": \"$1\", \"interval\": $INTERVAL, \"timeout\": $TIMEOUT, \"rise\": $RISE, \"fall\": $FALL${2:+, $2}}"
}
servers() { # the four servers; $1..$3: the ports of servers 2..4 when not the farm's (optional)
	cat <<JSON
[
      { "serverId": 1, "address": "$A1" },
      { "serverId": 2, "address": "$A2" },
      { "serverId": 3, "address": "$A3" },
      { "serverId": 4, "address": "$A3", "port": $1 }
    ]
JSON
}
cat >"$CFG" <<JSON
{
  "zone": "pr",
  "interfaces": ["eth0"],
  "farms": [
    { "farmId": 1, "type": "tcp", "displayName": "tcp", "port": 7000,
      "probe": $(probe tcp), "servers": $(servers 7001) },
    { "farmId": 2, "type": "tcp", "displayName": "http-status", "port": 8080,
      "probe": $(probe http '"url": "/status", "match": "status", "pattern": "200"'), "servers": $(servers 8081) },
    { "farmId": 3, "type": "tcp", "displayName": "http-contains", "port": 8080,
      "probe": $(probe http '"method": "GET", "url": "/body", "match": "contains", "pattern": "healthy"'), "servers": $(servers 8082) },
    { "farmId": 4, "type": "tcp", "displayName": "smtp", "port": 25,
      "probe": $(probe smtp), "servers": $(servers 2526) },
    { "farmId": 5, "type": "tcp", "displayName": "mysql", "port": 3306,
      "probe": $(probe mysql), "servers": $(servers 3307) },
    { "farmId": 6, "type": "tcp", "displayName": "pgsql", "port": 5432,
      "probe": $(probe pgsql), "servers": $(servers 5433) },
    { "farmId": 7, "type": "tcp", "displayName": "probe-port", "port": 80,
      "probe": $(probe http '"port": 8080'),
      "servers": [ { "serverId": 1, "address": "$A1" } ] }
  ]
}
JSON

# nsenter itself (not the lab_netns function) so that $! is the controller
nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" \
	--state "$RUN/state.json" 2>"$LOG" &
CTL_PID=$!
if wait_ms 20000 test -S "$SOCK" && wait_ms 10000 all_known; then
	ok "controller started, every server has a probe result"
else
	not_ok "controller started, every server has a probe result"
	tn -j status 2>&1 | head -n 40 | sed 's/^/# /'
	exit 1
fi
# two more intervals: first results decide at once, so nothing should move now
sleep 0.8
status
check_eq "status -j: 7 farms, 25 servers, all probed" "7 25 0" \
	"$(jq -r '"\(.farms | length) \([.farms[].servers[]] | length) \([.farms[].servers[] | select(.health == "not probed")] | length)"' "$RUN/status.json")"

# ---- every type: up, dead port, wrong server ---------------------------------------
# expect FARM SERVER PORT STATE REASON-REGEX (empty for up)
expect() {
	local f="$1" s="$2" port="$3" want="$4" re="${5:-}" name got err addr line
	name=$(jq -r --argjson f "$f" '.farms[] | select(.farmId == $f) | .displayName' "$RUN/status.json")
	got=$(field "$f" "$s" '"\(.state) \(.health) \(.port)"')
	err=$(field "$f" "$s" '.lastError // ""')
	addr=$(field "$f" "$s" .address)
	if [ "$want" = up ]; then
		check_eq "$name: server $s ($addr:$port) up" "up up $port" "$got"
		return
	fi
	if [ "$got" = "down down $port" ] && [[ "$err" =~ $re ]]; then
		ok "$name: server $s ($addr:$port) down: $err"
	else
		not_ok "$name: server $s ($addr:$port) down with /$re/ (got: $got, lastError: $err)"
	fi
	line=$(grep -F "tcp farm $f server $s $addr:$port down: " "$LOG" | tail -n 1)
	if [ -n "$line" ] && [[ "${line#*down: }" =~ $re ]]; then
		ok "log: $name server $s transition: ${line#*warn  }"
	else
		not_ok "log: 'tcp farm $f server $s $addr:$port down: /$re/' (got: ${line:-nothing})"
	fi
}
REFUSED='^tcp connect: Connection refused'
expect 1 1 7000 up
expect 1 2 7000 down "$REFUSED"
expect 1 3 7000 down '^timeout after 0\.3 s, connecting'
expect 1 4 7001 up # accepts and closes at once: all a tcp probe asks
expect 2 1 8080 up
expect 2 2 8080 down "$REFUSED"
expect 2 3 8080 down '^http status 503, expected 200'
expect 2 4 8081 down '^timeout after 0\.3 s, waiting for the http reply'
expect 3 1 8080 up
expect 3 2 8080 down "$REFUSED"
expect 3 3 8080 down '^http status 200, body lacks "healthy"'
expect 3 4 8082 down '^http: server closed the connection without a reply'
expect 4 1 25 up
expect 4 2 25 down "$REFUSED"
expect 4 3 25 down '^smtp banner 554, expected 220'
expect 4 4 2526 down '^smtp EHLO reply 502, expected 250'
expect 5 1 3306 up
expect 5 2 3306 down "$REFUSED"
expect 5 3 3306 down '^mysql: not a greeting packet'
expect 5 4 3307 down '^mysql: connection closed before the greeting'
expect 6 1 5432 up
expect 6 2 5432 down "$REFUSED"
expect 6 3 5432 down '^timeout after 0\.3 s, waiting for the pgsql SSLRequest answer'
expect 6 4 5433 down "^pgsql answered 0x58 'X' to SSLRequest"
expect 7 1 80 up # probed on the probe's port 8080; nothing listens on 80
check_eq "status -j: each farm up on its server 1 (tcp: servers 1 and 4)" "1:up:2 2:up:1 3:up:1 4:up:1 5:up:1 6:up:1 7:up:1" \
	"$(jq -r '[.farms[] | "\(.farmId):\(.state):\(.serversUp)"] | join(" ")' "$RUN/status.json")"
# expect_up_log FARM SERVER ADDR:PORT REASON: the first check's line says why the server is up
expect_up_log() {
	check "log: 'tcp farm $1 server $2 $3 up: $4 (first check)'" \
		grep -qF "tcp farm $1 server $2 $3 up: $4 (first check)" "$LOG"
}
expect_up_log 1 1 "$A1:7000" "tcp connect ok"
expect_up_log 2 1 "$A1:8080" "http status 200"
expect_up_log 3 1 "$A1:8080" 'http status 200, body contains "healthy"'
expect_up_log 4 1 "$A1:25" "smtp EHLO reply 250"
expect_up_log 5 1 "$A1:3306" "mysql 8.0.36-greeter greeting"
expect_up_log 6 1 "$A1:5432" "pgsql answered 'N' to SSLRequest"
check "log: no server changed state after its first check" \
	bash -c "! grep -E 'tcp farm [0-9]+ server [0-9]+ .* (up|down): ' '$LOG' | grep -v '(first check)' | grep -q ."

# ---- fall and rise: server 1's smtp greeter stops, then comes back --------------------
bound_down=$(($(ms_of "$INTERVAL") * FALL + MARGIN_MS))
bound_up=$(($(ms_of "$INTERVAL") * RISE + MARGIN_MS))
status
tr0=$(field 4 1 .transitions)
t0=$(now_ms)
greeter_stop s1-smtp
if wait_ms "$bound_down" state_now 4 1 down; then
	ok "smtp: server 1 down $(($(now_ms) - t0)) ms after its greeter stopped (bound ${bound_down} ms: interval x fall $FALL + margin)"
else
	not_ok "smtp: server 1 down within ${bound_down} ms of its greeter stopping (state: $(field 4 1 .state))"
fi
check "log: 'tcp farm 4 server 1 $A1:25 down: tcp connect: Connection refused ($FALL/$FALL)'" \
	grep -qF "tcp farm 4 server 1 $A1:25 down: tcp connect: Connection refused ($FALL/$FALL)" "$LOG"
status
check_eq "status -j: smtp farm down, 0 servers up; the other farms are untouched" \
	"4:down:0 1:up:2 2:up:1 3:up:1 5:up:1 6:up:1 7:up:1" \
	"$(jq -r '[(.farms[] | select(.farmId == 4)), (.farms[] | select(.farmId != 4))] | map("\(.farmId):\(.state):\(.serversUp)") | join(" ")' "$RUN/status.json")"
t0=$(now_ms)
if greeter s1-smtp s1 smtp:25:good && wait_ms "$bound_up" state_now 4 1 up; then
	ok "smtp: server 1 up again $(($(now_ms) - t0)) ms after its greeter restarted (bound ${bound_up} ms: interval x rise $RISE + margin)"
else
	not_ok "smtp: server 1 up again within ${bound_up} ms of its greeter restarting (state: $(field 4 1 .state))"
fi
check "log: 'tcp farm 4 server 1 $A1:25 up: smtp EHLO reply 250 ($RISE/$RISE)'" \
	grep -qF "tcp farm 4 server 1 $A1:25 up: smtp EHLO reply 250 ($RISE/$RISE)" "$LOG"
status
check_eq "status -j: two more transitions for smtp server 1, farm up again" "$((tr0 + 2)) up" \
	"$(field 4 1 .transitions) $(jq -r '.farms[] | select(.farmId == 4) | .state' "$RUN/status.json")"

# ---- unsupported probe types are refused ---------------------------------------------
cat >"$RUN/oco.json" <<JSON
{
  "interfaces": ["eth0"],
  "farms": [
    { "farmId": 1, "type": "tcp", "port": 80, "probe": { "type": "oco" },
      "servers": [ { "serverId": 1, "address": "$A1" } ] },
    { "farmId": 2, "type": "tcp", "port": 80, "probe": { "type": "internal" },
      "servers": [ { "serverId": 1, "address": "$A1" } ] }
  ]
}
JSON
mkdir -p "$RUN/oco"
timeout 20 nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$RUN/oco.json" \
	--socket "$RUN/oco/tenace.sock" --pin-dir "$PIN_OCO" --state "$RUN/oco/state.json" \
	>"$RUN/oco.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then ok "run refuses a config with oco/internal probes (exit $rc)"; else
	not_ok "run refuses a config with oco/internal probes (exit $rc)"; fi
msg=$(grep -F '"oco" probes are not supported' "$RUN/oco.out" | head -n 1 | sed 's/^.* error  *//')
if [[ "$msg" == 'farms[0].probe.type: '* ]] && [[ "$msg" == *'"tcp", "http", "smtp", "mysql", "pgsql"'* ]]; then
	ok "message names the path and the supported types: $msg"
else
	not_ok "message naming farms[0].probe.type and the supported types (got: $(head -c 600 "$RUN/oco.out"))"
fi
check "message for \"internal\" too" grep -qF 'farms[1].probe.type: "internal" probes are not supported' "$RUN/oco.out"
check "nothing served: no socket, no state file" bash -c "[ ! -e '$RUN/oco/tenace.sock' ] && [ ! -e '$RUN/oco/state.json' ]"
check "controller still answers after the refused run" state_now 4 1 up

# ---- the controller stops cleanly, sanitizers silent ----------------------------------
ctl_stop_clean "$LOG" "$RUN/oco.out"
echo "# $((SECONDS - started)) s after the lab was up"
tap_done
