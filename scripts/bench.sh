#!/bin/bash
# make bench: every figure beside the baseline -> build/bench.json, a table on
# stdout, docs/bench.png. Needs root (BPF, namespaces).
#   scripts/bench.sh                 all sections
#   scripts/bench.sh -s ns,maglev    some sections (others kept in build/bench.json)
#   scripts/bench.sh -s fleet        BGP convergence of three nodes (scripts/bench_fleet.sh)
#   scripts/bench.sh --quick         fewer, shorter runs
#   KATRAN_OBJ=PATH scripts/bench.sh Katran's balancer.bpf.o timed beside Tenace (--katran)
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

# Section "fleet" (BGP convergence, scripts/bench_fleet.sh) runs after the
# others; `-s fleet` alone runs only it, `-s ns,fleet` both.
args=() fleet=1 only_fleet=0
while [ $# -gt 0 ]; do
	case "$1" in
	-s | --section)
		list=",$2,"
		case "$list" in *,fleet,*) fleet=1 ;; *) fleet=0 ;; esac
		list=$(echo "$list" | sed 's/,fleet,/,/g; s/^,//; s/,$//')
		if [ -n "$list" ]; then args+=("$1" "$list"); else only_fleet=1; fi
		shift 2
		;;
	*) args+=("$1"); shift ;;
	esac
done

if [ -n "${KATRAN_OBJ:-}" ]; then args+=(--katran "$KATRAN_OBJ"); fi

# the table is also kept in build/bench.txt: the README quotes it verbatim
mkdir -p build
status=0
if [ "$only_fleet" = 0 ]; then
	"$TENACE" bench -o "$OUT" "${args[@]}" | tee build/bench.txt
	status=${PIPESTATUS[0]}
elif [ ! -s build/bench.txt ]; then
	: >build/bench.txt
fi
if [ "$fleet" = 1 ]; then
	TENACE="$TENACE" scripts/bench_fleet.sh build/bench-fleet.json | tee build/bench-fleet.txt
	if [ -s build/bench-fleet.json ]; then
		# the fleet's rows in the same JSON and table as the others
		[ -s "$OUT" ] || echo '{}' >"$OUT"
		jq --slurpfile f build/bench-fleet.json '.fleet = $f[0]' "$OUT" >"$OUT.new" && mv "$OUT.new" "$OUT"
		[ "$only_fleet" = 1 ] && sed -i '/^== fleet:/,$d' build/bench.txt
		cat build/bench-fleet.txt >>build/bench.txt
	else
		status=1
	fi
fi

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
