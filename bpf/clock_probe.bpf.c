/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The data plane's clock, read once at load: bpf_jiffies64() and
 * bpf_ktime_get_coarse_ns() side by side (both move at the scheduler tick),
 * so that the packet path can count time in jiffies, which the verifier
 * inlines into one load, and still store CLOCK_MONOTONIC_COARSE nanoseconds
 * (user/dataplane/clock.c). Run through BPF_PROG_TEST_RUN; never attached.
 *
 * Verdict contract: XDP_PASS always; the readings are in its .bss.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 probe_jiffies = 0;
__u64 probe_coarse_ns = 0;

SEC("xdp")
int clock_probe(struct xdp_md *ctx)
{
	probe_jiffies = bpf_jiffies64();
	probe_coarse_ns = bpf_ktime_get_coarse_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
