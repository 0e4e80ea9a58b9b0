/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's view of a tunnel's route: run through BPF_PROG_TEST_RUN
 * (as if a frame arrived on the interface the data plane serves), it asks
 * the kernel's FIB exactly what the XDP program asks before encapsulating,
 * so `tenace status` reports what the data plane will meet (no route,
 * forwarding off, next hop's MAC unknown, ...). Never attached.
 *
 * Verdict contract: XDP_PASS always; the answer is in fib_out and fib_rc.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_fib_lookup fib_in = {};   /* written by user space */
struct bpf_fib_lookup fib_out = {};
int fib_rc = 0;

SEC("xdp")
int fib_probe(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = fib_in;

	p.ifindex = ctx->ingress_ifindex;
	fib_rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	fib_out = p;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
