#!/bin/bash
# The controller with real traffic (scripts/lab.sh: client, balancer and
# nginx servers in namespaces on a bridge; L2 direct server return).
# Changes through the API and the CLI change nothing before a refresh, then
# traffic follows; a rejected config (SIGHUP with a bad file, a bad API body)
# keeps traffic flowing; SIGKILL + restart keeps conntrack and forwarding,
# and changes staged before the SIGKILL stay pending (the restarted
# controller serves the applied configuration kept in its state file);
# SIGTERM leaves the data plane forwarding; `tenace load` with one setting
# keeps the running data plane's others.
# The controller runs in the balancer's namespace with nsenter --net (which
# keeps the host's /sys/fs/bpf, where its maps are pinned).
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
LAB_P="tnc$(($$ % 10000))"
LAB_SERVERS=2
LAB_CLIENTS=80
. "$TN_ROOT/scripts/lab.sh"

TMP=$(mktemp -d /tmp/tenace-ctl-XXXXXX)
PIN=/sys/fs/bpf/tenace-ctl-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
CTL_PID=
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	lab_down >/dev/null 2>&1
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs

if ! lab_up >"$TMP/lab.log" 2>&1; then
	not_ok "lab set up"
	sed 's/^/# /' "$TMP/lab.log"
	exit 1
fi
lab_server_start 1 && lab_server_start 2

S1=$(lab_server_addr 1)
S2=$(lab_server_addr 2)
cat >"$CFG" <<JSON
{
  "interfaces": ["eth0"],
  "tableSize": 1021,
  "hashSeed": 7,
  "conntrack": {"size": 10000, "udpTimeout": 45},
  "farms": [
    {"farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp",
     "servers": [{"serverId": 1, "address": "$S1"}]}
  ],
  "frontends": [
    {"frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1}
  ]
}
JSON

start_controller() {
	# nsenter execs the controller: $! is its pid (a function would add a subshell)
	nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" >>"$TMP/ctl.log" 2>&1 &
	CTL_PID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null --unix-socket "$SOCK" http://localhost/v1/status && return 0
		sleep 0.1
	done
	return 1
}
api() { curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
	-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://localhost$2"; }
C=("$TN_BIN" --socket "$SOCK")
# answers of clients FIRST..LAST, one "server K" per line
answers() { local i; for i in $(seq "$1" "$2"); do lab_request "$i"; done; }
count() { grep -c "^$1\$" || true; }
generation() { "${C[@]}" -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["farms"][0]["generation"])'; }

check "the controller starts and answers" start_controller
check "attached to the balancer's eth0" bash -c "'${C[0]}' --socket '$SOCK' status | grep -qE '^eth0 +[0-9]+ +native'"
check_eq "status shows the driver's XDP TX errors of eth0 (the peer runs an XDP program: none)" 0 \
	"$("${C[@]}" -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["xdpTxErrors"])')"
check "server 1 resolved through the neighbour table" \
	bash -c "'${C[0]}' --socket '$SOCK' status | grep -E '^1 +$S1' | grep -q ' up '"
a=$(answers 1 10)
check_eq "clients 1-10 reach server 1" 10 "$(count "server 1" <<<"$a")"

# add server 2 through the API: staged, nothing changes before the refresh
check_eq "POST server 2" 201 "$(api POST /v1/tcp/farm/1/server "{\"address\": \"$S2\"}")"
gen=$(generation)
check_eq "pending shows the change" '[{"zone":"default","number":1}]' "$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges)"
a=$(answers 11 20)
check_eq "before the refresh, new clients 11-20 still all reach server 1" 10 "$(count "server 1" <<<"$a")"
check_eq "the data plane's farm was not swapped" "$gen" "$(generation)"
check "refresh through the CLI" bash -c "'${C[0]}' --socket '$SOCK' refresh --wait | grep -q done"
check "the farm was swapped" [ "$(generation)" -gt "$gen" ]
a=$(answers 21 50)
n2=$(count "server 2" <<<"$a")
check "after the refresh, new clients 21-50 reach server 2 too ($n2 of 30)" [ "$n2" -ge 5 ] && [ "$n2" -le 25 ]
a=$(answers 1 20)
check_eq "tracked clients 1-20 stay on server 1" 20 "$(count "server 1" <<<"$a")"

# drain server 1 through the CLI: new clients go to server 2, tracked stay
check "CLI server set --status inactive" bash -c "'${C[0]}' --socket '$SOCK' server set 1 1 --status inactive >/dev/null"
a=$(answers 51 55)
check "not applied before refresh: some of clients 51-55 still reach server 1" \
	[ "$(count "server 1" <<<"$a")" -ge 1 ] || true
"${C[@]}" refresh --wait >/dev/null
a=$(answers 56 60)
check_eq "drained: new clients 56-60 all reach server 2" 5 "$(count "server 2" <<<"$a")"
a=$(answers 1 10)
check_eq "drained: tracked clients 1-10 stay on server 1" 10 "$(count "server 1" <<<"$a")"
# draining needs to know when it is done: status counts each server's tracked clients
a=$(answers 1 60)
want="$(count "server 1" <<<"$a") $(count "server 2" <<<"$a")"
tracked() { "${C[@]}" -j status | python3 -c 'import json,sys; s=json.load(sys.stdin); print(*[x["trackedClients"] for x in s["farms"][0]["servers"]])'; }
# counted every few seconds: wait for a count after these packets
for _ in $(seq 40); do [ "$(tracked)" = "$want" ] && break; sleep 0.5; done
check_eq "status: each server's tracked clients are the clients it answers (of clients 1-60)" "$want" "$(tracked)"
n1=${want%% *}
check_eq "metrics: tenace_server_tracked_clients of server 1" "$n1" \
	"$(curl -s --unix-socket "$SOCK" http://localhost/metrics | awk '$1 == "tenace_server_tracked_clients{type=\"tcp\",farm=\"1\",server=\"1\"}" { print $2 }')"
check "status: the conntrack holds at least the 60 clients, of a known capacity" \
	bash -c "'${C[0]}' --socket '$SOCK' -j status | python3 -c 'import json,sys; c=json.load(sys.stdin)[\"conntrack\"]; sys.exit(not (c[\"entries\"] >= 60 and c[\"capacity\"] > 0))'"

# the program detached behind the controller's back: said, attached again, traffic back
before_detach=$("${C[@]}" -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["programId"])')
lab_netns lb ip link set dev eth0 xdp off
check "after ip link set dev eth0 xdp off, the controller attaches again (within 5 s)" wait_for 5 bash -c \
	"'${C[0]}' --socket '$SOCK' -j status | python3 -c 'import json,sys; i=json.load(sys.stdin)[\"interfaces\"][0]; sys.exit(not (i[\"mode\"] == \"native\" and i[\"programId\"] == $before_detach))'"
check "and says so" grep -q "interface eth0: the XDP program was detached behind the controller's back; attaching it again" "$TMP/ctl.log"
a=$(answers 1 10)
check_eq "clients 1-10 are answered again, by their servers" 10 "$(grep -c '^server [12]$' <<<"$a")"
metric() { curl -s --unix-socket "$SOCK" http://localhost/metrics | awk -v n="$1" '$1 == n { print $2 }'; }
check_eq "metrics: the detach counted" 1 "$(metric 'tenace_interface_detaches_total{interface="eth0"}')"
check "metrics: eth0 attached again" wait_for 5 bash -c \
	"curl -s --unix-socket '$SOCK' http://localhost/metrics | grep -qx 'tenace_interface_attached{interface=\"eth0\"} 1'"
check_eq "metrics: no foreign program on eth0" 0 "$(metric 'tenace_interface_foreign_program{interface="eth0"}')"
check_eq "metrics: no reload yet, so none failed" "1 0.000" \
	"$(metric tenace_config_last_reload_successful) $(metric tenace_config_last_reload_timestamp_seconds)"

# rejected configurations keep traffic flowing
before=$(answers 1 20)
cp "$CFG" "$TMP/good.json"
echo '{"farms": [{"farmId": 1, "type": "tcp", "servers": [{"address": "10.0.0.1", "weight": 300}]}], "bogus": 1}' >"$CFG"
kill -HUP "$CTL_PID"
sleep 1
check "SIGHUP with a bad file is logged with every error" \
	bash -c "grep -q 'weight: must be 0..256' '$TMP/ctl.log' && grep -q 'bogus' '$TMP/ctl.log'"
check "the controller is still running" kill -0 "$CTL_PID"
check_eq "traffic unchanged after the rejected file" "$before" "$(answers 1 20)"
check_eq "metrics: the rejected reload counted and flagged" "1 0" \
	"$(metric 'tenace_config_reloads_total{result="rejected"}') $(metric tenace_config_last_reload_successful)"
cp "$TMP/good.json" "$CFG"
check_eq "a bad API body is 400" 400 "$(api PUT /v1/tcp/farm/1/server/2 '{"weight": -1}')"
check_eq "traffic unchanged after the rejected body" "$before" "$(answers 1 20)"
check_eq "nothing pending" "[]" "$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges)"
kill -HUP "$CTL_PID"
sleep 1
check "SIGHUP with a good file reloads" grep -q "configuration reloaded" "$TMP/ctl.log"
check_eq "metrics: the good reload counted, the last one successful" "1 1" \
	"$(metric 'tenace_config_reloads_total{result="applied"}') $(metric tenace_config_last_reload_successful)"
check "metrics: the reload's time is now" python3 -c "import sys,time; sys.exit(abs(time.time() - float('$(metric tenace_config_last_reload_timestamp_seconds)')) > 60)"

# SIGKILL and restart: the data plane keeps forwarding, conntrack survives
before=$(answers 1 60)
kill -KILL "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
CTL_PID=
rm -f "$SOCK"
check_eq "forwarding continues while the controller is dead" "$before" "$(answers 1 60)"
check "the controller restarts on the pinned state" start_controller
check_eq "after the restart every client keeps its server" "$before" "$(answers 1 60)"
check "the restart took over the farm slots" grep -q "took over 1 farm slots" "$TMP/ctl.log"

# staged changes survive a controller crash as pending changes: the restarted
# controller serves what was applied (the state file), not the config file
check "the applied configuration is kept in the socket's directory" [ -s "$TMP/applied.json" ]
"${C[@]}" server set 1 1 --status active >/dev/null
"${C[@]}" server set 1 2 --status inactive >/dev/null
pend=$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges)
check_eq "two changes staged through the CLI" '[{"zone":"default","number":2}]' "$pend"
a=$(answers 61 65)
check_eq "before the refresh, new clients 61-65 all reach server 2" 5 "$(count "server 2" <<<"$a")"
kill -KILL "$CTL_PID"
wait "$CTL_PID" 2>/dev/null
CTL_PID=
rm -f "$SOCK"
check "the controller restarts after SIGKILL with changes staged" start_controller
check "it serves the applied configuration, not the file" grep -q "the data plane kept running" "$TMP/ctl.log"
check_eq "after the restart the changes are still pending" "$pend" \
	"$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges)"
a=$(answers 66 70)
check_eq "after the restart new clients 66-70 still all reach server 2" 5 "$(count "server 2" <<<"$a")"
check_eq "after the restart every tracked client keeps its server" "$before" "$(answers 1 60)"
check "refresh applies the pending changes" bash -c "'${C[0]}' --socket '$SOCK' refresh --wait | grep -q done"
check_eq "nothing pending after the refresh" "[]" "$(curl -s --unix-socket "$SOCK" http://localhost/v1/pendingChanges)"
a=$(answers 71 80)
check_eq "after the refresh new clients 71-80 all reach server 1" 10 "$(count "server 1" <<<"$a")"
check_eq "after the refresh tracked clients keep their servers" "$before" "$(answers 1 60)"

# SIGTERM: the controller exits cleanly, the data plane keeps forwarding
kill -TERM "$CTL_PID"
wait "$CTL_PID"
rc=$?
CTL_PID=
check_eq "SIGTERM exits with status 0" 0 "$rc"
check_eq "forwarding continues after SIGTERM" "$before" "$(answers 1 60)"

# under systemd (Type=notify, WatchdogSec=): READY=1 once serving, WATCHDOG=1
# pings at half the interval, STOPPING=1 on SIGTERM (a socket of our own
# stands in for systemd's $NOTIFY_SOCKET)
python3 - "$TMP/notify.sock" "$TMP/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(0.5)
end = time.time() + 30
with open(sys.argv[2], "w") as out:
    while time.time() < end:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            continue
        out.write(m.replace("\n", " ") + "\n"); out.flush()
        if "STOPPING=1" in m:
            break
PY
NOTIFY_PID=$!
for _ in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000 start_controller
for _ in $(seq 30); do [ "$(grep -c '^WATCHDOG=1' "$TMP/notify.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.1; done
kill -TERM "$CTL_PID"; wait "$CTL_PID"; CTL_PID=
wait "$NOTIFY_PID"
check_eq "sd_notify: READY=1 first" "READY=1 STATUS=serving" "$(head -n 1 "$TMP/notify.log")"
check "sd_notify: watchdog pings ($(grep -c '^WATCHDOG=1' "$TMP/notify.log") within 3 s of a 0.4 s WatchdogSec)" \
	[ "$(grep -c '^WATCHDOG=1' "$TMP/notify.log")" -ge 3 ]
check_eq "sd_notify: STOPPING=1 last, on SIGTERM" "STOPPING=1" "$(tail -n 1 "$TMP/notify.log")"

# tenace load with one setting keeps the running data plane's other settings
check "load eth0 --tcp-timeout 60 on the running data plane" \
	lab_netns lb "$TN_BIN" load eth0 --pin-dir "$PIN" --tcp-timeout 60
settings=$(bpftool -j map dump pinned "$PIN/settings" | python3 -c '
import json,sys; v=json.load(sys.stdin)[0]["formatted"]["value"]
print(v["table_size"], v["ct_size"], v["tcp_timeout_s"], v["udp_timeout_s"], v["hash_seed"])')
check_eq "only the TCP timeout changed (table, conntrack size, UDP timeout, seed kept)" "1021 10000 60 45 7" "$settings"
check_eq "forwarding continues after the load, tracked clients keep their servers" "$before" "$(answers 1 60)"
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$TMP/ctl.log'"

lab_netns lb "$TN_BIN" unload eth0 --all --pin-dir "$PIN" >/dev/null 2>&1
check_eq "after unload, the VIP is no longer balanced" "no answer" "$(lab_request 1 1)"
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/ctl.log" | tail -40
tap_done
