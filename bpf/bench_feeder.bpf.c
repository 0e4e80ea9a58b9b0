/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Benchmark programs (user/bench.c drives them).
 *
 * bench_feeder: with BPF_PROG_TEST_RUN and repeat > 1 the kernel does not
 * restore the frame between repetitions, so every run rebuilds the header
 * from a template, writes the client's source address from a counter, then
 * tail-calls the program under test (Tenace or the baseline) through `target`.
 * The same feeder precedes both, so their ratio is fair. With feeder_only set
 * it returns XDP_TX itself: that measures the feeder alone, and in live-frame
 * mode (BPF_F_TEST_XDP_LIVE_FRAMES) it is the end-to-end traffic generator.
 *   client = counter % nclients            (tracked clients)
 *   client = counter                       (fresh_clients: never-seen clients)
 *   source address = template's + client   (IPv4: whole address; IPv6: low 32 bits)
 *   random_src: source address = 64.0.0.0/2 + a hash of the counter
 *               (the flood section's spoofed sources: never a bench client's 10/8)
 *
 * bench_sink: XDP_DROP sink for the refresh test: counts IPv4 frames (others
 * pass), remembers
 * the destination MAC last seen for each client (source address % 65536) and
 * counts every change of it (a tracked client that switched server).
 *
 * frame_len (tunnel cases): the frame's own length. A program that
 * encapsulates leaves the next repetition a longer frame: the feeder first
 * moves its start back by the difference, so every repetition starts from the
 * same frame. bench_grow (the same bpf_xdp_adjust_head any encapsulation
 * makes, grow_len bytes, then XDP_TX) measures that floor.
 *
 * Verdict contract: the target's verdict; XDP_ABORTED when the tail call
 * fails (empty prog array) or the frame is shorter than the template.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FEED_TMPL_MAX 128 /* Ethernet + 2 VLAN tags + IPv6 + TCP = 82, rounded up */

/* Written by user space through the skeleton's mmapped .data/.bss. */
__u64 tmpl[FEED_TMPL_MAX / 8] = {};  /* header bytes of the frame */
__u32 tmpl_len = 0;                  /* bytes to copy, multiple of 8 */
__u32 src_off = 26;                  /* offset of the source address's last 4 bytes */
__u32 nclients = 1;
__u32 fresh_clients = 0;             /* 1: client = counter (every packet new) */
__u32 feeder_only = 0;               /* 1: no tail call, return XDP_TX */
__u32 base_addr = 0;                 /* host order: first client's last 32 bits */
__u64 counter = 0;                   /* next packet's sequence number */
__u32 frame_len = 0;                 /* nonzero: shrink a longer frame back to this first */
__u32 grow_len = 20;                 /* bench_grow: bytes added in front */
__u32 random_src = 0;                /* 1: a pseudo-random source per packet (see above) */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} target SEC(".maps");

/* murmur3's 64-bit finalizer: user/tools/bench/feeder.c computes the same */
static __always_inline __u32 random_addr(__u64 seq)
{
	seq ^= seq >> 33;
	seq *= 0xff51afd7ed558ccdull;
	seq ^= seq >> 33;
	seq *= 0xc4ceb9fe1a85ec53ull;
	seq ^= seq >> 33;
	return 0x40000000u | ((__u32)seq & 0x3fffffffu);
}

SEC("xdp")
int bench_feeder(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 seq = __sync_fetch_and_add(&counter, 1);
	__u32 n = tmpl_len, off = src_off & 0x7f, i, client;
	__be32 addr;

	client = fresh_clients ? (__u32)seq : (__u32)(seq % (nclients ? nclients : 1));
	if (frame_len) {
		long grown = (long)(data_end - data) - (long)frame_len;

		if (grown > 0 && grown <= 128 && bpf_xdp_adjust_head(ctx, (int)grown))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}
	for (i = 0; i < FEED_TMPL_MAX / 8; i++) {
		if (i * 8 >= n)
			break;
		if (data + i * 8 + 8 > data_end)
			return XDP_ABORTED;
		*(__u64 *)(data + i * 8) = tmpl[i];
	}
	if (data + off + 4 > data_end)
		return XDP_ABORTED;
	addr = bpf_htonl(random_src ? random_addr(seq) : base_addr + client);
	__builtin_memcpy(data + off, &addr, 4);
	if (feeder_only)
		return XDP_TX;
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int bench_grow(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -(int)(grow_len & 0x7f)))
		return XDP_ABORTED;
	return XDP_TX;
}

#define SINK_CLIENTS 65536

struct sink_client {
	__u8 mac[6] __attribute__((aligned(4)));
	__u16 seen;   /* 0 until the first frame */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SINK_CLIENTS);
	__type(key, __u32);
	__type(value, struct sink_client);
} sink_clients SEC(".maps");

/* 0: frames received, 1: clients whose destination MAC changed, 2: frames too short */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} sink_stats SEC(".maps");

__u32 sink_src_off = 26;  /* where the client's address's last 4 bytes are */

static __always_inline void sink_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sink_stats, &idx);

	if (v)
		(*v)++;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = sink_src_off & 0x7f, key;
	struct sink_client *c;
	__u32 mac_hi;
	__u16 mac_lo;
	__be32 addr;

	if (data + off + 4 > data_end || data + 14 > data_end) {
		sink_count(2);
		return XDP_DROP;
	}
	/* only the generator's IPv4 frames: the kernel's own (IPv6 neighbour
	 * discovery on the fresh veth) are not clients */
	if (*(__be16 *)(data + 12) != bpf_htons(0x0800))
		return XDP_PASS;
	sink_count(0);
	__builtin_memcpy(&addr, data + off, 4);
	key = bpf_ntohl(addr) % SINK_CLIENTS;
	c = bpf_map_lookup_elem(&sink_clients, &key);
	if (!c)
		return XDP_DROP;
	__builtin_memcpy(&mac_hi, data, 4);
	__builtin_memcpy(&mac_lo, data + 4, 2);
	if (c->seen && (*(__u32 *)c->mac != mac_hi || *(__u16 *)&c->mac[4] != mac_lo))
		sink_count(1);
	*(__u32 *)c->mac = mac_hi;
	*(__u16 *)&c->mac[4] = mac_lo;
	c->seen = 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
