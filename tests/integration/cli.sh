#!/bin/bash
# The CLI against a running `tenace run` (no traffic): global options parsed
# with getopt_long (--opt=VALUE and --opt VALUE alike, stopping at the
# command; unknown ones get the usage), and text from the API (names,
# zones, error messages) escaped in human output (-j prints the API's JSON
# unchanged): a displayName holding an escape sequence or a newline must
# not reach the terminal raw.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d /tmp/tenace-cli-XXXXXX)
PIN=/sys/fs/bpf/tenace-cli-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
PORT=$((20000 + ($$ + 7) % 20000))
CTL_PID=
# a configuration names the interfaces the controller attaches to: a veth of this run
IFACE=tncl$$
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
  "zone": "cli",
  "interfaces": ["$IFACE"],
  "tableSize": 1021,
  "conntrack": {"size": 4096},
  "farms": [
    {"farmId": 1, "type": "tcp", "port": 80,
     "servers": [{"serverId": 1, "address": "192.0.2.10", "mac": "02:00:00:00:00:0a"}]},
    {"farmId": 7, "type": "udp", "port": 53,
     "servers": [{"serverId": 1, "address": "192.0.2.20", "mac": "02:00:00:00:00:14"}]}
  ],
  "frontends": [
    {"frontendId": 1, "type": "tcp", "vip": ["198.51.100.1"], "port": "80", "defaultFarmId": 1}
  ]
}
JSON
printf 'cli-secret-token-%s\n' "$$" >"$TMP/token"
chmod 600 "$TMP/token"

"$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" --listen "127.0.0.1:$PORT" \
	--token-file "$TMP/token" >"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "the controller listens on its socket" [ -S "$SOCK" ]

# ---- global options ---------------------------------------------------------------

first_line() { "$TN_BIN" "$@" 2>&1 | head -n 1; }
check_eq "--socket=PATH status" "zone cli, pending changes: 0" "$(first_line --socket="$SOCK" status)"
check_eq "--socket PATH status" "zone cli, pending changes: 0" "$(first_line --socket "$SOCK" status)"
check_eq "status --socket=PATH (after the command)" "zone cli, pending changes: 0" \
	"$(first_line status --socket="$SOCK")"
udp_ids() { "$TN_BIN" "$@" farm list | jq -c '[.[].farmId]'; }
check_eq "-j --type=udp farm list: the udp farm only" "[7]" "$(udp_ids -j --socket="$SOCK" --type=udp)"
check_eq "-j --type udp farm list" "[7]" "$(udp_ids -j --socket "$SOCK" --type udp)"
check_eq "-jv: short options together" "[7]" "$(udp_ids -jv --socket="$SOCK" --type=udp 2>/dev/null)"
check_eq "--json --type=tcp: the tcp farm" "[1]" "$(udp_ids --json --type=tcp --socket="$SOCK")"
check_eq "--url=URL --token-file=F over TCP" "zone cli, pending changes: 0" \
	"$(first_line --url="http://127.0.0.1:$PORT" --token-file="$TMP/token" status)"
check_eq "--url URL --token-file F over TCP" "zone cli, pending changes: 0" \
	"$(first_line --url "http://127.0.0.1:$PORT" --token-file "$TMP/token" status)"
check_eq "-- ends the global options" "zone cli, pending changes: 0" "$(first_line --socket="$SOCK" -- status)"

"$TN_BIN" --bogus --socket="$SOCK" status >"$TMP/out" 2>"$TMP/err"
rc=$?
check_eq "an unknown global option exits 1" 1 "$rc"
check "... and names it" grep -q '^tenace: unknown option --bogus$' "$TMP/err"
check "... then prints the usage" grep -q '^usage: tenace ' "$TMP/err"
check "... and runs no command" [ ! -s "$TMP/out" ]
"$TN_BIN" --socket >/dev/null 2>"$TMP/err"
rc=$?
check_eq "--socket without a value exits 1" 1 "$rc"
check "... saying it needs one" grep -q '^tenace: option --socket needs a value$' "$TMP/err"
"$TN_BIN" --socket="$SOCK" >/dev/null 2>"$TMP/err"
rc=$?
check_eq "options without a command exit 1 with the usage" "1 yes" \
	"$rc $(grep -q '^usage: tenace ' "$TMP/err" && echo yes)"
# after the global options, a command's own parser still takes options after its words
check "load IFACE --table-size abc: the option after the interface is parsed" \
	bash -c "'$TN_BIN' --socket='$SOCK' load nosuchif$$ --table-size abc 2>&1 | grep -q 'table-size expects a number'"
check_eq "--type=sctp is refused by the command" "tenace: --type must be tcp or udp, got \"sctp\"" \
	"$("$TN_BIN" --socket="$SOCK" --type=sctp farm list 2>&1)"

# ---- API text escaped in human output -------------------------------------------------

api() { curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
	-H 'Content-Type: application/json' --data-binary "$3" "http://localhost$2"; }
# has TEXT FILE: FILE holds TEXT, literally; lacks REGEX FILE: no match (grep -P)
has() { grep -qF -- "$1" "$2"; }
lacks() { ! grep -qP -- "$1" "$2"; }
# ESC[31m, a newline, DEL and U+009B (CSI as a C1 control) in one name
evil='\u001b[31mevil\nline\u007f\u009b2J'
shown='\x1b[31mevil\nline\x7f\xc2\x9b2J'
check_eq "a server named with control characters is accepted by the API" 201 \
	"$(api POST /v1/tcp/farm/1/server "{\"address\": \"192.0.2.11\", \"mac\": \"02:00:00:00:00:0b\", \"displayName\": \"$evil\"}")"
C=("$TN_BIN" --socket="$SOCK")
"${C[@]}" server list 1 >"$TMP/out" 2>&1
check "server list: no raw escape character" lacks '\x1b' "$TMP/out"
check "server list: the name shown escaped, on its line" grep -qF "$shown" "$TMP/out"
check_eq "server list: one line per server (the newline is \\n)" 3 "$(wc -l <"$TMP/out")"
"${C[@]}" -j server list 1 >"$TMP/json"
check "server list -j: the API's JSON, escaped by JSON" has '"displayName":"\u001b[31mevil\nline' "$TMP/json"
check_eq "server list -j: the name decodes to the original bytes" "$(printf '\033[31mevil\nline\177\302\2332J' | od -An -tx1)" \
	"$("${C[@]}" -j server list 1 | jq -j '.[] | select(.serverId == 2) | .displayName' | od -An -tx1)"

# the CLI itself can set such a name: shown escaped in farm list, show and status
"${C[@]}" farm set 1 --name "$(printf 'web\033]0;owned\007\tfarm')" >/dev/null 2>"$TMP/err"
check_eq "farm set --name with control characters" "" "$(cat "$TMP/err")"
"${C[@]}" refresh --wait >/dev/null
for cmd in "farm list" "farm show 1" "status" "server show 1 2"; do
	# shellcheck disable=SC2086
	"${C[@]}" $cmd >"$TMP/out" 2>&1
	check "$cmd: no raw escape or bell character" lacks '[\x1b\x07]' "$TMP/out"
done
"${C[@]}" farm list >"$TMP/farms"
"${C[@]}" status >"$TMP/status"
check "farm list: the name shown escaped" has 'web\x1b]0;owned\x07\tfarm' "$TMP/farms"
check "status: the farm line names it escaped" has 'tcp farm 1 (web\x1b]0;owned\x07\tfarm)' "$TMP/status"
check "status: the server's row is there (escaped names do not break the table)" \
	grep -qE '^2 +192\.0\.2\.11 ' "$TMP/status"

# farm show prints the probe as a line, not as JSON
"${C[@]}" farm set 1 --probe-type http --probe-url /health --probe-interval 7 >/dev/null 2>"$TMP/err"
"${C[@]}" farm show 1 >"$TMP/out" 2>&1
check "farm show: the probe as a readable line" grep -qE '^probe +http every 7 s, .*GET /health' "$TMP/out"
check "farm show: no JSON in the probe line" lacks '[{}"]' "$TMP/out"
"${C[@]}" farm set 1 --probe-type none >/dev/null 2>&1

# an error message quoting what was sent is escaped too
"${C[@]}" server add 1 --address "$(printf '10.0.0.\033[2J')" >"$TMP/out" 2>"$TMP/err"
rc=$?
check_eq "a bad address through the CLI exits 3 (invalid request)" 3 "$rc"
check "the API's error message is shown" grep -q 'error 400' "$TMP/err"
check "the error message carries no raw escape" lacks '\x1b' "$TMP/err"

# ---- exit statuses and errors for scripts ---------------------------------------------
"${C[@]}" server show 1 99 >/dev/null 2>"$TMP/err"
check_eq "a server that does not exist: exit 4 (404)" 4 "$?"
out=$("${C[@]}" -j server show 1 99 2>/dev/null)
check_eq "under -j the error is JSON on stdout" "404 no server 99 in tcp farm 1" \
	"$(python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; print(e["status"], e["message"])' "$out")"
"${C[@]}" farm delete 1 >/dev/null 2>"$TMP/err"
check_eq "deleting a farm a frontend uses: exit 5 (409)" 5 "$?"
"$TN_BIN" --socket "$TMP/nothing.sock" status >/dev/null 2>"$TMP/err"
check_eq "no controller on the socket: exit 2" 2 "$?"
check "and it says there is no socket there" grep -qF "no controller socket at $TMP/nothing.sock" "$TMP/err"
out=$("$TN_BIN" -j --socket "$TMP/nothing.sock" status 2>/dev/null)
check_eq "under -j, unreachable is status 0" 0 "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["status"])' "$out")"
chmod 755 "$TMP"
setpriv --reuid=65534 --regid=65534 --clear-groups "$TN_BIN" --socket "$SOCK" status >/dev/null 2>"$TMP/err"
rc=$?
chmod 700 "$TMP"
check_eq "a user other than root: exit 2" 2 "$rc"
check "and told the socket is root-only" grep -qF "permission denied: the socket $SOCK is root-only (0600); run as root or use --url" "$TMP/err"
# tenace task: the id a refresh printed can be asked for
"${C[@]}" server set 1 1 --weight 3 >/dev/null
id=$("${C[@]}" -j refresh | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
out=$("${C[@]}" task "$id" --wait)
check "tenace task $id --wait shows the refresh done" grep -qE "^task $id: done" <<<"$out"
"${C[@]}" task 99999 >/dev/null 2>&1
check_eq "an unknown task: exit 4" 4 "$?"

[ "$_tap_failed" -gt 0 ] && for f in json farms status; do echo "# --- $f"; sed "s/^/# /" "$TMP/$f"; done
ctl_stop_clean "$TMP/ctl.log"
tap_done
