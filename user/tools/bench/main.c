/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace-bench: the benchmarks behind `make bench` as their own binary. */
#include "lib/log.h"
#include "tools/bench/bench.h"

int main(int argc, char **argv)
{
	tn_log_libbpf();
	return tn_bench_main(argc, argv);
}
