#!/bin/bash
# tenace trace (issue 13) with real HTTP traffic in the lab, the controller
# running: a traced client's packets show conntrack deferred (its SYN), new (its ACK), then hit, to the server
# that answered it; a denied client's show drop_filtered; --client filters
# keep other clients out; two traces at once each see only their own client
# (each its own session bit); --count N stops after N events; the pcap of -w
# holds each packet as received and as sent (tcpdump reads it back, the sent
# copy addressed to the server's MAC); a trace killed with SIGKILL leaves a
# session that the next trace takes back; no session stays active at the end.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tntr$(($$ % 10000))" LAB_CLIENTS=12
. "$TN_ROOT/scripts/lab.sh"

RUN="$LAB_DIR/run"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
CTL_PID=""
TRACE_PIDS=()

cleanup() {
	trap - EXIT
	local p
	for p in "${TRACE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	ctl_stop
	lab_down >/dev/null 2>&1
	rm -rf "$PIN"
}
trap cleanup EXIT

ctl_start() {
	nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" 2>>"$LOG" &
	CTL_PID=$!
	wait_for 20 tn -j status >/dev/null 2>&1
}
all_up() { for s in 1 2 3; do [ "$(srv 1 "$s" .state)" = up ] || return 1; done; }
# trace_start NAME ARGS...: a trace writing $RUN/NAME.out and NAME.err, ready once it said so
trace_start() {
	local name="$1"
	shift
	"$TN_BIN" trace --pin-dir "$PIN" "$@" >"$RUN/$name.out" 2>"$RUN/$name.err" &
	TRACE_PIDS+=($!)
	eval "PID_$name=$!"
	wait_for 10 grep -q 'tracing as session' "$RUN/$name.err"
}
# the sessions the data plane has active (the mask of trace_ctl)
# (the first 4 bytes of its value, little endian)
active_mask() {
	local h
	h=$(bpftool -j map dump pinned "$PIN/trace_ctl" | jq -r '.[0].value[0:4] | reverse | map(ltrimstr("0x")) | join("")')
	[ -n "$h" ] && echo $((16#$h))
}
# jq over one trace's events, one result per line
events() { jq -r "$2" "$RUN/$1.out"; }
curl_from() { lab_ns cli curl -s --max-time "${2:-2}" --interface "$(lab_client_addr "$1")" "http://$LAB_VIP/" | awk '{print $2}'; }

ensure_bpffs
lab_up || { not_ok "build the lab"; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
mkdir -p "$RUN"
DENIED="$(lab_client_addr 10)"
cat >"$CFG" <<JSON
{
  "zone": "trace",
  "interfaces": ["eth0"],
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 1, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr 1)", "weight": 1 },
      { "serverId": 2, "address": "$(lab_server_addr 2)", "weight": 1 },
      { "serverId": 3, "address": "$(lab_server_addr 3)", "weight": 1 }
    ]
  }],
  "frontends": [
    { "frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1,
      "deniedSource": ["$DENIED/32"] }
  ]
}
JSON
if ctl_start && wait_for 20 all_up; then ok "controller started, 3 servers up"; else not_ok "controller started, 3 servers up"; exit 1; fi
check_eq "no trace session active before any trace" 0 "$(active_mask)"

# ---- two traces at once, each with its own client; A stops after 8 events -------------------
A="$(lab_client_addr 5)"
B="$(lab_client_addr 6)"
trace_start a --vip "$LAB_VIP:80/tcp" --client "$A/32" --count 8 -j -w "$RUN/a.pcap"
trace_start b --client "$B" -j
mask=$(active_mask)
if [ "$mask" -ne 0 ] && [ $((mask & (mask - 1))) -ne 0 ]; then ok "two sessions active (mask $mask)"; else not_ok "two sessions active (mask $mask)"; fi
SA=$(curl_from 5)
SA2=$(curl_from 5)
SB=$(curl_from 6)
SC=$(curl_from 7)  # traced by neither
check_eq "client 5 answered by the same server twice" "$SA" "$SA2"
wait_for 10 bash -c "! kill -0 $PID_a 2>/dev/null"
if ! kill -0 "$PID_a" 2>/dev/null; then ok "--count 8: trace A ended by itself"; else not_ok "--count 8: trace A ended by itself"; fi
wait "$PID_a"
check_eq "trace A exit status" 0 "$?"
check_eq "trace A: 8 events" 8 "$(wc -l <"$RUN/a.out")"
check_eq "trace A: every event from client $A to $LAB_VIP:80" "$A $LAB_VIP 80" "$(events a '"\(.client) \(.vip) \(.vip_port)"' | sort -u)"
check_eq "trace A: first event (the SYN) conntrack deferred, to server $SA (table entry)" \
	"deferred xdp_tx 1 $SA table" "$(events a '"\(.conntrack) \(.reason) \(.farm) \(.server) \(.why)"' | head -n1)"
check_eq "trace A: second event (the handshake ACK) conntrack new, the same server (table entry)" \
	"new xdp_tx 1 $SA table" "$(events a '"\(.conntrack) \(.reason) \(.farm) \(.server) \(.why)"' | sed -n 2p)"
check_eq "trace A: the 6 others conntrack hit, same server (tracked)" "6 hit xdp_tx $SA tracked" \
	"$(events a '"\(.conntrack) \(.reason) \(.server) \(.why)"' | tail -n +3 | sort | uniq -c | awk '{print $1, $2, $3, $4, $5}')"
gen=$(events a '.generation' | sort -u)
if [ "$(wc -l <<<"$gen")" -eq 1 ] && [ "$gen" -ge 1 ]; then ok "trace A: one farm generation ($gen)"; else not_ok "trace A: one farm generation (got $gen)"; fi

# B: client 6 only, its own session bit
wait_for 10 bash -c "[ \$(wc -l <'$RUN/b.out') -ge 3 ]"
kill -INT "$PID_b"
wait "$PID_b"
check_eq "trace B: SIGINT ends it cleanly" 0 "$?"
nb=$(wc -l <"$RUN/b.out")
if [ "$nb" -ge 3 ]; then ok "trace B: $nb events"; else not_ok "trace B: at least 3 events (got $nb)"; fi
check_eq "trace B: only client $B (not $A, not client 7 answered by $SC)" "$B" "$(events b .client | sort -u)"
check_eq "trace B: conntrack new once, to server $SB" "1 new $SB" "$(events b 'select(.conntrack == "new") | .server' | sort | uniq -c | awk '{print $1, "new", $2}')"
sa=$(events a .sessions | sort -u)
sb=$(events b .sessions | sort -u)
if [ "$(wc -l <<<"$sa$sb")" -eq 1 ] && [ "$sa" != "$sb" ] && [ $((sa & sb)) -eq 0 ]; then ok "each trace's events carry its own session bit ($sa, $sb)"; else not_ok "each trace's events carry its own session bit (got '$sa' '$sb')"; fi
grep -q 'lost 0 (ring full)' "$RUN/a.err" && grep -q 'lost 0 (ring full)' "$RUN/b.err"
check "the data plane lost no event (summaries on stderr)" test $? -eq 0

# ---- the pcap: each packet as received and as sent ---------------------------------------------
np=$(tcpdump -nr "$RUN/a.pcap" 2>/dev/null | wc -l)
check_eq "pcap: 16 packets (8 events, each as received and as sent)" 16 "$np"
MAC_LB=$(ip -n "$LAB_P-lb" -j link show eth0 | jq -r '.[0].address')
MAC_S=$(ip -n "$LAB_P-s$SA" -j link show eth0 | jq -r '.[0].address')
dst=$(tcpdump -enr "$RUN/a.pcap" 2>/dev/null | awk '{print $4}' | sed 's/,$//' | awk 'NR % 2 == 1 {i[$1]++} NR % 2 == 0 {o[$1]++} END {for (m in i) printf "in %s %d ", m, i[m]; for (m in o) printf "out %s %d", m, o[m]}')
check_eq "pcap: received for the balancer's MAC, sent to server $SA's MAC" "in $MAC_LB 8 out $MAC_S 8" "$dst"
check_eq "pcap: every packet from $A to $LAB_VIP.80" 16 "$(tcpdump -nr "$RUN/a.pcap" "src host $A and dst host $LAB_VIP and dst port 80" 2>/dev/null | wc -l)"

# ---- the text lines --------------------------------------------------------------------------
trace_start f --vip "$LAB_VIP:80" --client "$(lab_client_addr 3)" --count 4
SF=$(curl_from 3)
wait_for 10 bash -c "! kill -0 $PID_f 2>/dev/null"
re_syn="^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} $(lab_client_addr 3):[0-9]+ -> $LAB_VIP:80/tcp xdp_tx ct deferred farm 1 gen [0-9]+ server $SF \(slot [0-9]+, table\)\$"
re_new="^[0-9:.]+ $(lab_client_addr 3):[0-9]+ -> $LAB_VIP:80/tcp xdp_tx ct new farm 1 gen [0-9]+ server $SF \(slot [0-9]+, table\)\$"
re_hit="^[0-9:.]+ $(lab_client_addr 3):[0-9]+ -> $LAB_VIP:80/tcp xdp_tx ct hit farm 1 gen [0-9]+ server $SF \(slot [0-9]+, tracked\)\$"
check_eq "text: the first line (the SYN) says deferred, table entry, server $SF" 1 "$(head -n1 "$RUN/f.out" | grep -cE "$re_syn")"
check_eq "text: the second (the handshake ACK) says new, table entry, the same server" 1 "$(sed -n 2p "$RUN/f.out" | grep -cE "$re_new")"
check_eq "text: the 2 others say hit, tracked, the same server" 2 "$(tail -n +3 "$RUN/f.out" | grep -cE "$re_hit")"
sed 's/^/# /' "$RUN/f.out" "$RUN/f.err"

# ---- a denied client: drop_filtered, --reason filter, text output -----------------------------
trace_start c --client "$(lab_client_addr 9)/30" --reason drop_filtered --count 2
curl_from 9 >/dev/null  # in the /30 (.8-.11) but forwarded: not drop_filtered
curl_from 10 3 >/dev/null  # denied: the SYN and its retransmission dropped
wait_for 10 bash -c "! kill -0 $PID_c 2>/dev/null"
wait "$PID_c" 2>/dev/null
check_eq "trace C (--reason drop_filtered --count 2): 2 lines" 2 "$(wc -l <"$RUN/c.out")"
check_eq "trace C: both from the denied client, reason drop_filtered, no farm" \
	"2 $DENIED drop_filtered farm -" \
	"$(awk '{split($2, a, ":"); print a[1], $5, $8, $9}' "$RUN/c.out" | sort | uniq -c | awk '{print $1, $2, $3, $4, $5}')"
sed 's/^/# /' "$RUN/c.out"

# ---- a killed trace's session is taken back ---------------------------------------------------
trace_start d --client "$(lab_client_addr 11)/32"
dslot=$(active_mask)
check "trace D's session active" test "${dslot:-0}" -ne 0
kill -KILL "$PID_d"
wait "$PID_d" 2>/dev/null
check_eq "a SIGKILLed trace leaves its session active" "$dslot" "$(active_mask)"
trace_start e --client "$(lab_client_addr 12)/32" --count 1
grep -q "took back session" "$RUN/e.err"
check "the next trace takes the dead trace's session back" test $? -eq 0
SE=$(curl_from 12)
wait_for 10 bash -c "! kill -0 $PID_e 2>/dev/null"
check_eq "trace E: its one event, to server $SE" "1 $SE" "$(awk '{print $0}' "$RUN/e.out" | wc -l) $(sed -n 's/.* server \([0-9]*\) .*/\1/p' "$RUN/e.out")"
check_eq "no session active once every trace ended" 0 "$(active_mask)"

# ---- bad input ----------------------------------------------------------------------------------
err=$("$TN_BIN" trace --pin-dir "$PIN" --reason conntrack_nwe 2>&1)
check_eq "an unknown reason is refused (exit 2)" 2 "$?"
grep -q 'conntrack_nwe' <<<"$err"
check "the error names the bad reason" test $? -eq 0
err=$("$TN_BIN" trace --pin-dir "$RUN/nowhere" 2>&1)
check_eq "a pin directory without a data plane is refused (exit 1)" 1 "$?"

ctl_stop
tap_done
