#!/bin/bash
# The live page (issue 13) in a real browser, Debian's headless chromium,
# against the lab with real traffic: through `tenace dashboard` on loopback
# the page loads with no console error, shows every server of the test farm
# with its state, and a VIP and server rate that is 0 without traffic and
# above 0 once HTTP requests go through; on the TLS listener without a
# session it asks for the token. The TLS listener's cookie flow with curl (wrong token 401, the right one sets a Secure, HttpOnly,
# SameSite=Strict cookie that authenticates reads, never writes); the
# dashboard's refusals; GET /v1/transitions after a server goes down; and
# scripts/grafana-tenace.json names only metrics a real /metrics has.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tnpg$(($$ % 10000))" LAB_CLIENTS=4
. "$TN_ROOT/scripts/lab.sh"

RUN="$LAB_DIR/run"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
PORT=$((20000 + ($$ + 11) % 20000))   # the dashboard, host loopback
TPORT=$((20000 + ($$ + 13) % 20000))  # the controller's TLS listener, in the balancer's namespace
CTL_PID=""
DASH_PID=""
LOAD_PID=""

cleanup() {
	trap - EXIT
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	[ -n "$DASH_PID" ] && kill "$DASH_PID" 2>/dev/null
	ctl_stop
	lab_down >/dev/null 2>&1
	rm -rf "${PROFILE:-}"
}
trap cleanup EXIT

state_is() { [ "$(srv 1 "$1" .state)" = "$2" ]; }
all_up() { for s in 1 2 3; do state_is "$s" up || return 1; done; }
# browser URL [SECONDS]: the page's DOM after SECONDS of (virtual) time; the
# browser's console messages in $RUN/console.log
PROFILE=$(mktemp -d /tmp/tenace-page-chromium-XXXXXX)
browser() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$PROFILE" \
		--enable-logging=stderr --v=0 --virtual-time-budget=$((${2:-6} * 1000)) --dump-dom "$1" \
		2>"$RUN/console.log"
}
console_errors() { grep -c 'CONSOLE' "$RUN/console.log"; }
attr() { sed -n "s/.*<body[^>]* $1=\"\\([^\"]*\\)\".*/\\1/p" "$2" | head -n1; }
# pps of a row: pps_of FILE 'data-server="tcp/1/2"'
pps_of() { grep -o "<tr [^>]*$2[^>]*>" "$1" | sed -n 's/.*data-pps="\([0-9.]*\)".*/\1/p' | head -n1; }

ensure_bpffs
command -v chromium >/dev/null || { not_ok "chromium is installed (scripts/deps.sh)"; tap_done; exit 1; }
lab_up || { not_ok "build the lab"; exit 1; }
for i in 1 2 3; do lab_server_start "$i"; done
mkdir -p "$RUN"
cat >"$CFG" <<JSON
{
  "zone": "page",
  "interfaces": ["eth0"],
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web", "port": 80,
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2 },
    "servers": [
      { "serverId": 1, "address": "$(lab_server_addr 1)", "weight": 1 },
      { "serverId": 2, "address": "$(lab_server_addr 2)", "weight": 2 },
      { "serverId": 3, "address": "$(lab_server_addr 3)", "weight": 1 }
    ]
  }],
  "frontends": [{ "frontendId": 1, "type": "tcp", "vip": ["$LAB_VIP"], "port": "80", "defaultFarmId": 1 }]
}
JSON
printf 'page-secret-token-%s\n' "$$" >"$RUN/token"
chmod 600 "$RUN/token"
TOKEN=$(cat "$RUN/token")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=tenace-test \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$RUN/key.pem" -out "$RUN/cert.pem" >"$RUN/openssl.log" 2>&1
nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" \
	--listen "127.0.0.1:$TPORT" --token-file "$RUN/token" --tls-cert "$RUN/cert.pem" --tls-key "$RUN/key.pem" \
	2>"$LOG" &
CTL_PID=$!
if wait_for 30 test -S "$SOCK" && wait_for 30 all_up; then
	ok "controller started, the three servers are up by their http probe"
else
	not_ok "controller started, the three servers are up by their http probe"
	exit 1
fi

# ---- the dashboard's refusals -------------------------------------------------------------
out=$("$TN_BIN" --socket "$SOCK" dashboard --listen "0.0.0.0:$PORT" 2>&1)
rc=$?
check "dashboard --listen 0.0.0.0 is refused (exit $rc)" [ "$rc" -ne 0 ]
check "and says it listens on loopback only" grep -q 'loopback address only' <<<"$out"
out=$("$TN_BIN" --socket "$SOCK" dashboard --listen "10.0.0.1:$PORT" 2>&1)
check "dashboard --listen 10.0.0.1 is refused too (exit $?)" grep -q 'loopback address only' <<<"$out"
"$TN_BIN" --socket "$SOCK" dashboard --listen "127.0.0.1:$PORT" 2>"$RUN/dashboard.log" &
DASH_PID=$!
wait_for 20 bash -c "ss -ltn | grep -q '127.0.0.1:$PORT '"
D="http://127.0.0.1:$PORT"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
check_eq "the dashboard serves the page" 200 "$(code "$D/")"
check_eq "and its script" 200 "$(code "$D/app.js")"
check_eq "and forwards GET /v1/status" 200 "$(code "$D/v1/status")"
n=$(curl -s --max-time 10 "$D/v1/status" | jq '[.farms[].servers[]] | length')
check_eq "with the controller's servers" 3 "$n"
check_eq "POST /v1/refresh is refused (405)" 405 "$(code -X POST -d '{}' "$D/v1/refresh")"
check_eq "DELETE of a farm is refused (405)" 405 "$(code -X DELETE "$D/v1/tcp/farm/1")"
check_eq "GET /v1/config (not read by the page) is refused (403)" 403 "$(code "$D/v1/config")"
check_eq "GET /metrics is refused (403)" 403 "$(code "$D/metrics")"
check_eq "another Host (DNS rebinding) is refused (403)" 403 "$(code -H 'Host: evil.example' "$D/v1/status")"
check_eq "the refusals changed nothing: no refresh task" 0 "$(curl -s --unix-socket "$SOCK" http://localhost/v1/tasks | jq length)"

# ---- the page in chromium --------------------------------------------------------------------
browser "$D/" 6 >"$RUN/dom0.html"
check "the page loaded and polled at least twice ($(attr data-polls "$RUN/dom0.html"))" \
	[ "$(attr data-polls "$RUN/dom0.html")" -ge 2 ] 2>/dev/null
check_eq "no console message from the page" 0 "$(console_errors)"
[ "$(console_errors)" -ne 0 ] && sed 's/^/# /' "$RUN/console.log" | head -n 10
check_eq "no script error counted by the page" 0 "$(attr data-errors "$RUN/dom0.html")"
check_eq "every server of the farm is shown" 3 "$(attr data-servers "$RUN/dom0.html")"
for s in 1 2 3; do
	check "server $s is shown up" grep -q "data-server=\"tcp/1/$s\" data-state=\"up\"" "$RUN/dom0.html"
done
check "the servers' addresses are shown" grep -q "$(lab_server_addr 2):80" "$RUN/dom0.html"
check_eq "without traffic the VIP's rate is 0" "0.0" "$(pps_of "$RUN/dom0.html" "data-vip=\"$LAB_VIP:80\"")"

# traffic: a request every 50 ms from each of the 4 clients, new connection each time
lab_ns cli bash -c "while :; do for i in 1 2 3 4; do curl -s -o /dev/null --max-time 1 \
	--interface $LAB_NET.1.\$i http://$LAB_VIP/ & done; wait; sleep 0.05; done" &
LOAD_PID=$!
# the page shows the controller's rates (its last sample interval): wait for the VIP's and a server's
rates_up() { "$TN_BIN" --socket "$SOCK" -j stats | jq -e '(.vips[0].pps // 0) > 0 and ([.servers[].pps // 0] | add) > 0' >/dev/null; }
wait_for 30 rates_up
browser "$D/" 4 >"$RUN/dom1.html"
vpps=$(pps_of "$RUN/dom1.html" "data-vip=\"$LAB_VIP:80\"")
check "with traffic the page's VIP rate is above 0 ($vpps packets/s)" awk -v x="${vpps:-0}" 'BEGIN { exit !(x > 0) }'
sum=0
for s in 1 2 3; do
	p=$(pps_of "$RUN/dom1.html" "data-server=\"tcp/1/$s\"")
	sum=$(awk -v a="$sum" -v b="${p:-0}" 'BEGIN { print a + b }')
done
check "and the servers' rates add up above 0 ($sum packets/s)" awk -v x="$sum" 'BEGIN { exit !(x > 0) }'
check_eq "still no console message" 0 "$(console_errors)"
grep -q '<canvas class="spark"' "$RUN/dom1.html"
check "the rates are drawn (a canvas per VIP and server: $(grep -o '<canvas class="spark"' "$RUN/dom1.html" | wc -l))" \
	[ "$(grep -o '<canvas class="spark"' "$RUN/dom1.html" | wc -l)" -eq 4 ]

# ---- health transitions ----------------------------------------------------------------------
lab_server_stop 3
wait_for 30 state_is 3 down
tr=$(tn -j status >/dev/null; curl -s --max-time 10 "$D/v1/transitions")
check_eq "GET /v1/transitions shows server 3 going down first" "1 3 up down" \
	"$(jq -r '.transitions[0] | "\(.farmId) \(.serverId) \(.from) \(.to)"' <<<"$tr")"
check "with the probe's reason" [ -n "$(jq -r '.transitions[0].reason // empty' <<<"$tr")" ]
browser "$D/" 4 >"$RUN/dom2.html"
check "the page shows server 3 down" grep -q 'data-server="tcp/1/3" data-state="down"' "$RUN/dom2.html"
check "and the transition in its list" grep -q 'tcp farm 1 server 3' "$RUN/dom2.html"
lab_server_start 3

# ---- the TLS listener's session cookie (curl, in the balancer's namespace) --------------------
T="https://127.0.0.1:$TPORT"
lcurl() { lab_netns lb curl -s --max-time 10 --cacert "$RUN/cert.pem" "$@"; }
check_eq "GET / on the TLS listener needs no token (the page holds no data)" 200 \
	"$(lcurl -o /dev/null -w '%{http_code}' "$T/")"
check_eq "GET /v1/stats without token nor cookie is 401" 401 "$(lcurl -o /dev/null -w '%{http_code}' "$T/v1/stats")"
check_eq "POST /v1/session with a wrong token is 401" 401 \
	"$(lcurl -o /dev/null -w '%{http_code}' -c "$RUN/jar0" -d "{\"token\": \"${TOKEN}x\"}" "$T/v1/session")"
check "and sets no cookie" bash -c "! grep -q tenace_session '$RUN/jar0' 2>/dev/null"
hdr=$(lcurl -D - -o /dev/null -c "$RUN/jar" -d "{\"token\": \"$TOKEN\"}" "$T/v1/session")
check "the right token gets 204" grep -q '^HTTP/[0-9.]* 204' <<<"$hdr"
cookie=$(grep -i '^set-cookie:' <<<"$hdr" | tr -d '\r')
check "a Set-Cookie tenace_session" grep -q 'tenace_session=' <<<"$cookie"
for a in Secure HttpOnly SameSite=Strict; do
	check "the cookie is $a" grep -qw -- "$a" <<<"$cookie"
done
val=$(sed -n 's/.*tenace_session=\([^;]*\).*/\1/p' <<<"$cookie")
check "the cookie's value is not the token (${#val} hex characters)" \
	bash -c "[ '$val' != '$TOKEN' ] && [[ '$val' =~ ^[0-9a-f]{64}$ ]]"
check_eq "the cookie authenticates GET /v1/stats" 200 "$(lcurl -o /dev/null -w '%{http_code}' -b "$RUN/jar" "$T/v1/stats")"
check_eq "it reads the same VIP" "$LAB_VIP" "$(lcurl -b "$RUN/jar" "$T/v1/stats" | jq -r '.vips[0].vip')"
check_eq "a made-up cookie is 401" 401 \
	"$(lcurl -o /dev/null -w '%{http_code}' -b "tenace_session=$(printf '%064d' 0)" "$T/v1/stats")"
check_eq "the cookie does not authenticate a change (POST /v1/refresh: 401)" 401 \
	"$(lcurl -o /dev/null -w '%{http_code}' -b "$RUN/jar" -d '{}' "$T/v1/refresh")"
check_eq "the bearer token still does" 200 \
	"$(lcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -d '{}' "$T/v1/refresh")"
# the page itself on the TLS listener, in the browser: without a session it asks for the token
lab_netns lb timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$PROFILE" \
	--ignore-certificate-errors --virtual-time-budget=4000 --dump-dom "$T/" >"$RUN/dom3.html" 2>/dev/null
check_eq "on the TLS listener without a cookie the page asks for the token" needed "$(attr data-auth "$RUN/dom3.html")"
check "and shows its form" bash -c "grep -q '<form id=\"login\">' '$RUN/dom3.html'"
check_eq "the Unix socket needs neither" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/v1/stats)"
check_eq "and serves the page too" 200 "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/)"
check_eq "GET /v1/tasks lists the refresh, newest first" "refresh done" \
	"$(wait_for 20 bash -c "curl -s --unix-socket '$SOCK' http://localhost/v1/tasks | jq -e '.[0].status == \"done\"' >/dev/null"
	   curl -s --unix-socket "$SOCK" http://localhost/v1/tasks | jq -r '.[0] | "\(.action) \(.status)"')"

# docs/dashboard.png: TN_PAGE_SCREENSHOT=PATH takes it here, with traffic, a
# refresh and a transition behind, after 40 s of real time (charts filled)
if [ -n "${TN_PAGE_SCREENSHOT:-}" ]; then
	timeout 120 python3 "$TN_ROOT/tests/integration/helpers/cdp_screenshot.py" "$D/" "$TN_PAGE_SCREENSHOT" 40 1400 820
fi
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
LOAD_PID=""

# ---- the Grafana dashboard names only real metrics ---------------------------------------------
curl -s --unix-socket "$SOCK" http://localhost/metrics >"$RUN/metrics.txt"
python3 "$TN_ROOT/scripts/grafana-check.py" "$TN_ROOT/scripts/grafana-tenace.json" "$RUN/metrics.txt" >"$RUN/grafana.log" 2>&1
rc=$?
check "every metric scripts/grafana-tenace.json names is in /metrics ($(tail -n1 "$RUN/grafana.log"))" [ "$rc" -eq 0 ]
[ "$rc" -ne 0 ] && sed 's/^/# /' "$RUN/grafana.log"
check "the dashboard names the families it charts (at least 12: $(sed -n 's/.* \([0-9]*\) metrics named.*/\1/p' "$RUN/grafana.log"))" \
	[ "$(sed -n 's/.* \([0-9]*\) metrics named.*/\1/p' "$RUN/grafana.log")" -ge 12 ]
# the check can fail: a /metrics without one family, and a label that is not one
grep -v '^tenace_server_up' "$RUN/metrics.txt" >"$RUN/metrics-less.txt"
out=$(python3 "$TN_ROOT/scripts/grafana-check.py" "$TN_ROOT/scripts/grafana-tenace.json" "$RUN/metrics-less.txt")
check "a /metrics without tenace_server_up fails the check, naming it" grep -q '^tenace_server_up: not in /metrics' <<<"$out"
sed 's/verdict=/outcome=/' "$RUN/metrics.txt" >"$RUN/metrics-label.txt"
out=$(python3 "$TN_ROOT/scripts/grafana-check.py" "$TN_ROOT/scripts/grafana-tenace.json" "$RUN/metrics-label.txt")
check "a renamed label fails the check, naming it" grep -q '^label verdict: not a label of tenace_packets_total' <<<"$out"

kill -TERM "$DASH_PID"
wait "$DASH_PID"
rc=$?
DASH_PID=""
check_eq "SIGTERM stops the dashboard with status 0" 0 "$rc"
ctl_stop_clean "$LOG" "$RUN/dashboard.log"
tap_done
