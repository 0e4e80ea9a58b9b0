# Shared helpers for shell integration tests (source it). Prints TAP lines.
# shellcheck shell=bash
TN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TN_BIN="${TN_BIN:-$TN_ROOT/build/tenace-san}"
_tap_n=0
_tap_failed=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
# check "name" command...: ok when the command succeeds
check() { local name="$1"; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# check_eq "name" expected actual
check_eq() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi; }
# The TAP plan, last: the runner counts a script that stops before it (or
# whose plan disagrees with its results) as failed.
tap_done() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

# Mount bpffs when absent (a fresh machine may have none).
ensure_bpffs() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -le "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- tests that run a controller in the lab (scripts/lab.sh) -------------------
# They set SOCK (its socket), PIN (its pin directory), LOG (its log) and
# CTL_PID (its pid, from nsenter started in the background).

# tn ARGS...: the CLI against the test's controller
tn() { "$TN_BIN" --socket "$SOCK" "$@"; }

# srv FARM SERVER JQ-FIELD: a field of one server in `tenace status -j`
srv() { tn -j status 2>/dev/null | jq -r --argjson f "$1" --argjson s "$2" \
	".farms[] | select(.farmId == \$f) | .servers[] | select(.serverId == \$s) | $3"; }

# Stop the controller, unload the data plane, remove its pins; show the end of
# its log when a check failed. For cleanup traps.
ctl_stop() {
	if [ -n "${CTL_PID:-}" ]; then
		kill "$CTL_PID" 2>/dev/null
		wait "$CTL_PID" 2>/dev/null
		CTL_PID=
	fi
	lab_netns lb "$TN_BIN" unload eth0 --all --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" 2>/dev/null
	if [ "$_tap_failed" -gt 0 ] && [ -s "${LOG:-}" ]; then
		echo "# --- controller log (last ${1:-40} lines)"
		tail -n "${1:-40}" "$LOG" | sed 's/^/# /'
	fi
}

# ctl_stop_clean LOG...: SIGTERM the controller ($CTL_PID), check it exits 0
# and that no sanitizer reported anything in the given logs.
ctl_stop_clean() {
	local rc pat='ERROR: (Address|Leak)Sanitizer|runtime error'
	kill -TERM "$CTL_PID"
	wait "$CTL_PID"
	rc=$?
	CTL_PID=
	check_eq "SIGTERM stops the controller with status 0" 0 "$rc"
	if grep -qE "$pat" "$@"; then
		not_ok "no sanitizer report ($*)"
		grep -hE -A20 "$pat" "$@" | head -n 40 | sed 's/^/# /'
	else
		ok "no sanitizer report"
	fi
}
