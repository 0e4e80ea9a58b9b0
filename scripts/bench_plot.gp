# Tenace benchmark plot: ns/packet (BPF_PROG_TEST_RUN) and end-to-end Mpps,
# each beside the baseline measured in the same run.
# Usage: gnuplot -e "datadir='build'; out='docs/bench.png'" scripts/bench_plot.gp
# (the .dat files come from `tenace bench --plot-data build/bench.json build`)
if (!exists("datadir")) datadir = 'build'
if (!exists("out")) out = 'docs/bench.png'
set terminal pngcairo size 1400,560 font "sans,10"
set output out
set multiplot layout 1,2 title "Tenace vs baseline (swap MACs + XDP\\_TX), same run, medians"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -30 scale 0 font ",9"
set title "ns/packet through BPF\\_PROG\\_TEST\\_RUN (feeder included in both)"
set ylabel "ns per packet"
set yrange [0:*]
plot datadir.'/bench_ns.dat' using 2:xtic(1) title "Tenace" lc rgb "#c0392b", \
     '' using 3 title "baseline" lc rgb "#7f8c8d"
set xtics norotate
set title "end to end over veth, one core: Mpps delivered"
set ylabel "Mpps"
set xlabel "tracked clients"
plot datadir.'/bench_e2e.dat' using 2:xtic(1) title "Tenace" lc rgb "#c0392b", \
     '' using 3 title "baseline" lc rgb "#7f8c8d"
unset multiplot
