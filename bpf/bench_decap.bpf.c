/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Benchmark programs for the servers' decap program (tools/bench drives them).
 *
 * bench_decap_feeder: with BPF_PROG_TEST_RUN and repeat > 1 the kernel runs
 * every repetition on the same skb, which the previous one stripped; so each
 * run gives the tunnel back (grows the room the program removed, rewrites the
 * Ethernet and outer headers from a template) and tail-calls the program
 * under test through `target`: the decap program, bench_strip (removes the
 * same bytes with the same helper, without looking at them) or bench_pass
 * (returns at once: the feeder's own cost).
 *
 * Verdict contract: the target's; TC_ACT_SHOT when the feeder cannot rebuild
 * the frame or the tail call fails.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define TMPL_MAX 128 /* Ethernet + IPv6 + UDP + GUE = 66, rounded up */

__u64 tmpl[TMPL_MAX / 8] = {};  /* Ethernet and outer headers, written by user space */
__u32 tmpl_len = 0;             /* bytes of them, a multiple of 8 */
__u32 overhead = 0;             /* outer header bytes the program under test removes */
__u32 frame_len = 0;            /* the whole tunnel frame */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} target SEC(".maps");

SEC("tc")
int bench_decap_feeder(struct __sk_buff *skb)
{
	__u32 i;

	if (skb->len + overhead == frame_len &&
	    bpf_skb_adjust_room(skb, (__s32)overhead, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (skb->len != frame_len)
		return TC_ACT_SHOT;
	for (i = 0; i < TMPL_MAX / 8; i++) {
		if (i * 8 >= tmpl_len)
			break;
		if (bpf_skb_store_bytes(skb, i * 8, &tmpl[i], 8, 0))
			return TC_ACT_SHOT;
	}
	bpf_tail_call(skb, &target, 0);
	return TC_ACT_SHOT;
}

SEC("tc")
int bench_strip(struct __sk_buff *skb)
{
	if (bpf_skb_adjust_room(skb, -(__s32)overhead, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int bench_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
