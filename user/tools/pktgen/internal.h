/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to user/tools/pktgen/: the command's options (args.c) and its
 * sending threads (send.c); pktgen.c runs them, frame.c builds the frames.
 */
#ifndef TENACE_PKTGEN_INTERNAL_H
#define TENACE_PKTGEN_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "tools/pktgen/pktgen.h"

#define NS_PER_SEC 1000000000ULL

/* What the command line asked for. */
struct pg_args {
	struct tn_pktgen_spec spec;
	const char *iface;
	bool have_dst_mac, have_src_mac, have_src, have_size, json, quiet, dump;
	__u64 count, rate, threads, dump_n;
	double duration;
	int src_family;
};

void tn_pg_usage(FILE *f);
/* 0, 1 for --help (usage printed), or -EINVAL with the error printed. */
int tn_pg_parse_args(int argc, char **argv, struct pg_args *a);

/* One sending: what every thread needs, and what it reports. */
struct pg_send {
	int prog_fd;
	const __u8 *frame;
	__u32 size;
	int ifindex;
	const struct pg_args *args;
	const volatile __u64 *next_seq;  /* the program's frame counter: frames sent */
	int nthreads, started;
	struct pg_worker *workers;
	__u64 t_start, t_end;            /* CLOCK_MONOTONIC ns */
};

/*
 * Send with args->threads threads (each pinned to a CPU, sharing -n and -r),
 * a progress line each second unless quiet, until done, -d elapsed or
 * SIGINT/SIGTERM. 0, or 1 when a thread could not start or BPF_PROG_RUN
 * failed (said): t_start/t_end are set; -ENOMEM when nothing was sent.
 */
int tn_pg_send(struct pg_send *s);

#endif /* TENACE_PKTGEN_INTERNAL_H */
