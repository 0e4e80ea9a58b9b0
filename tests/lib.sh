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
tap_done() { [ "$_tap_failed" -eq 0 ]; }

# Mount bpffs when absent (a fresh machine may have none).
ensure_bpffs() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}
