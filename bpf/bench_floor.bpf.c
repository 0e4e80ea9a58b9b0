/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bench_floor: the memory floor of a tracked packet (user/tools/bench/ns.c).
 * Tail-called by bench_feeder like Tenace and the baseline, it reads one
 * 64-byte line (one cache line) of an array as large as the bench's
 * conntrack, at an index drawn from the client the feeder wrote, then swaps
 * the MACs and sends the frame back like the baseline. What it costs above
 * the baseline is one dependent read from a table of that many entries:
 * the least any lookup of the client in memory can cost.
 *
 *   client = source address - base_addr     (the feeder's counter % nclients)
 *   index  = a pseudo-random permutation of [0, entries) applied to client
 *
 * The permutation: a bijection of [0, 2^k) (multiply by an odd number,
 * xorshift, twice; mask = 2^k - 1 >= entries - 1, set by user space) walked
 * until it lands below `entries` (cycle walking: under 2 steps on average,
 * since 2^k < 2 * entries). Every client reads its own line, in an order
 * without strides a prefetcher could follow.
 *
 * bench_lru, the kernel LRU alone: the same frame, the client's address as
 * an 8-byte key (the address, then zeros: conntrack4's key, whose farm slot
 * is 0 in the bench) looked up in an LRU_HASH of the conntrack's size and
 * 8-byte values (conntrack4's element, one LRU shared by all CPUs), inserted
 * when absent, then the baseline's work. What it costs above the baseline is
 * what the kernel's map itself costs Tenace on a tracked packet (the lookup)
 * and on a new client (the lookup that misses, then the insert): no design
 * of the program around that map can cost less.
 *
 * Verdict contract (both): XDP_TX with the MACs swapped; XDP_ABORTED when the
 * frame is shorter than the source address or the index is outside the
 * array.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tenace.h"

struct floor_line {
	__u64 w[8];
};

/* max_entries set by user space before loading (the bench's conntrack size) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_line);
} floor_lines SEC(".maps");

/* max_entries set by user space before loading: bench_lru's table */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u64);
} floor_lru SEC(".maps");

__u32 entries = 0;   /* index range: the clients of the row */
__u32 mask = 0;      /* 2^k - 1, with 2^k >= entries > 2^(k-1) */
__u32 shift = 1;     /* xorshift distance, about k / 2 */
__u32 base_addr = 0; /* host order: client 0's last 32 bits of address */
__u32 src_off = 0;   /* offset of the source address's last 4 bytes */

static __always_inline __u32 perm(__u32 x)
{
	x = (x * 0x9e3779b1u) & mask;
	x ^= x >> (shift & 31);
	x = (x * 0x85ebca77u) & mask;
	x ^= x >> (shift & 31);
	return x;
}

static __always_inline void swap_macs(void *data)
{
	__u8 tmp[6];

	__builtin_memcpy(tmp, data, 6);
	__builtin_memcpy(data, data + 6, 6);
	__builtin_memcpy(data + 6, tmp, 6);
}

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = src_off & 0x7f, client, idx, i;
	struct floor_line *line;
	__be32 addr;

	if (data + off + 4 > data_end || data + 12 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&addr, data + off, 4);
	client = bpf_ntohl(addr) - base_addr;
	idx = client;
#pragma clang loop unroll(disable)
	for (i = 0; i < 64; i++) {
		idx = perm(idx);
		if (idx < entries)
			break;
	}
	if (idx >= entries)
		idx = client;
	line = bpf_map_lookup_elem(&floor_lines, &idx);
	if (!line)
		return XDP_ABORTED;
	/* the array is zero: never true, but the read must happen before the verdict */
	if (line->w[0] == 0x466c6f6f72ull)
		return XDP_DROP;
	swap_macs(data);
	return XDP_TX;
}

SEC("xdp")
int bench_lru(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = src_off & 0x7f;
	__u64 key, one = 1, *v;
	__be32 addr;

	if (data + off + 4 > data_end || data + 12 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&addr, data + off, 4);
	key = tn_ct4_key_word(addr, 0); /* conntrack4's key, whole (headers/tenace.h) */
	v = bpf_map_lookup_elem(&floor_lru, &key);
	if (!v)
		bpf_map_update_elem(&floor_lru, &key, &one, BPF_ANY);
	else if (*v == 0x466c6f6f72ull) /* the values are 1: never true, but the read happens */
		return XDP_DROP;
	swap_macs(data);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
