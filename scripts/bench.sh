#!/bin/bash
# make bench: every figure beside the baseline -> build/bench.json, a table on
# stdout, docs/bench.png. Needs root (BPF, namespaces).
#   scripts/bench.sh                 all sections
#   scripts/bench.sh -s ns,maglev    some sections (others kept in build/bench.json)
#   scripts/bench.sh --quick         fewer, shorter runs
# Any other option goes to `tenace bench` (see `build/tenace bench --help`).
set -u
cd "$(dirname "$0")/.."
TENACE=${TENACE:-build/tenace}
OUT=build/bench.json

cleanup() {
	# what `tenace bench` creates, should it be killed before it cleans up
	ip link del tnb-lb 2>/dev/null || true
	ip netns del tnbench-gen 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench.sh: needs root (BPF programs, network namespaces); try: sudo make bench" >&2
	exit 1
fi
if ! "$TENACE" bench --help >/dev/null 2>&1; then
	echo "bench.sh: $TENACE bench does not run (is build/tenace-bench built? make all)" >&2
	exit 1
fi

# the table is also kept in build/bench.txt: the README quotes it verbatim
mkdir -p build
"$TENACE" bench -o "$OUT" "$@" | tee build/bench.txt
status=${PIPESTATUS[0]}

if [ -s "$OUT" ]; then
	"$TENACE" bench --plot-data "$OUT" build
	mkdir -p docs
	if command -v gnuplot >/dev/null 2>&1; then
		gnuplot -e "datadir='build'; out='docs/bench.png'" scripts/bench_plot.gp && echo "plot: docs/bench.png"
	else
		echo "bench.sh: gnuplot not installed: no docs/bench.png (make deps)" >&2
	fi
fi
exit $status
