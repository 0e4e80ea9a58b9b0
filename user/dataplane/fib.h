/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A tunnel's route as the data plane sees it: the kernel's FIB asked through
 * bpf_fib_lookup (bpf/fib_probe.bpf.c, run with BPF_PROG_TEST_RUN as if a
 * frame arrived on the served interface), and a way to make the kernel
 * resolve a missing next hop.
 */
#ifndef TENACE_DATAPLANE_FIB_H
#define TENACE_DATAPLANE_FIB_H

#include <stdint.h>
#include "lib/net.h"

struct tn_fib;

struct tn_nexthop {
	int rc;                /* BPF_FIB_LKUP_RET_* (0: resolved), or -errno when the probe could not run */
	uint32_t ifindex;      /* the interface tunnel packets leave by */
	uint8_t smac[6], dmac[6];
	struct tn_addr via;    /* the next hop: a gateway, or the server itself on-link */
	uint16_t mtu;          /* the route's MTU, when the lookup gave it */
};

int tn_fib_open(struct tn_fib **out);
void tn_fib_close(struct tn_fib *f);

/* The FIB's answer for a tunnel from src to dst arriving on in_ifindex:
 * 0 (out->rc says what the kernel said), or -errno (logged). */
int tn_fib_lookup(struct tn_fib *f, uint32_t in_ifindex, const struct tn_addr *src, const struct tn_addr *dst,
		  struct tn_nexthop *out);

/* Words for out->rc: "resolved", "no route (blackhole)", "next hop's MAC unknown", ... */
const char *tn_fib_result_text(int rc);

/* Make the kernel resolve the next hop toward dst (one UDP datagram from src
 * to its discard port): 0 or -errno. */
int tn_nexthop_trigger(const struct tn_addr *src, const struct tn_addr *dst);

#endif /* TENACE_DATAPLANE_FIB_H */
