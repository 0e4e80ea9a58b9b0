/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace bench`: every figure of `make bench`, each beside a baseline program
 * (build/baseline.bpf.o: swap the MACs, XDP_TX) measured in the same run and
 * reported as a ratio, medians of several repetitions. Writes a JSON document
 * (default build/bench.json) and a table on stdout; PASS/MISS beside every
 * target. Sections: ns (ns/packet through BPF_PROG_TEST_RUN), flood (a SYN
 * flood from spoofed sources against established clients), e2e (Mpps over
 * veth), refresh (farm rewrites under load), maglev, probe, memory, control,
 * decap, trace, encap.
 */
#ifndef TENACE_BENCH_H
#define TENACE_BENCH_H

/* `tenace bench [options]` (argv[0] = "bench"): the exit status
 * (0 all measured, 1 a measurement failed, 2 usage; a missed target is not a failure). */
int tn_bench_main(int argc, char **argv);

#endif /* TENACE_BENCH_H */
