#!/bin/bash
# Run every test of Tenace and end with one line "N passed, N failed".
#
# Each test program prints TAP lines ("ok N - name" / "not ok N - name"):
# C tests are cmocka programs (TAP output), shell tests use tests/lib.sh.
# A program that exits non-zero without reporting a failure counts as one
# failure, and so does one whose TAP plan ("1..N", first or last) is missing
# or disagrees with the results it printed: a crash or an early exit can
# never pass unnoticed.
# Usage: scripts/run-tests.sh [PATTERN]   (only tests whose path matches)
set -u
cd "$(dirname "$0")/.."
pattern="${1:-}"
passed=0
failed=0
failures=()
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logdir=build/test-logs
mkdir -p "$logdir"

run_one() {
	local t="$1" name log rc p f plan
	name="${t#build/tests/}"
	name="${name#tests/}"
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	echo "=== $name"
	local start=$SECONDS
	if [[ "$t" == *.sh ]]; then
		timeout 1200 bash "$t" >"$log" 2>&1
	else
		timeout 1200 "$t" >"$log" 2>&1
	fi
	rc=$?
	p=$(grep -cE '^ok [0-9]* ?-? ?' "$log")
	f=$(grep -cE '^not ok ' "$log")
	grep -E '^(ok|not ok) ' "$log" | sed 's/^/    /'
	plan=$(grep -E '^1\.\.[0-9]+' "$log" | tail -n 1 | sed 's/^1\.\.//; s/[^0-9].*//')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "    not ok - $name exited with status $rc without reporting a failure"
	elif [ -z "$plan" ]; then
		f=$((f + 1))
		echo "    not ok - $name printed no TAP plan (1..N): it stopped before its end"
	elif [ "$plan" -ne $((p + $(grep -cE '^not ok ' "$log"))) ]; then
		f=$((f + 1))
		echo "    not ok - $name planned $plan tests but reported $((p + $(grep -cE '^not ok ' "$log")))"
	fi
	if [ "$f" -ne 0 ]; then
		failures+=("$name (log: $log)")
		echo "    --- last lines of $log:"
		tail -n 30 "$log" | sed 's/^/    | /'
	fi
	echo "    ($p passed, $f failed, $((SECONDS - start)) s)"
	passed=$((passed + p))
	failed=$((failed + f))
}

tests=()
for t in build/tests/unit/* build/tests/dataplane/* tests/integration/*.sh; do
	[ -e "$t" ] || continue
	[[ "$t" == *.d ]] && continue
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	tests+=("$t")
done
for t in "${tests[@]}"; do
	run_one "$t"
done
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
