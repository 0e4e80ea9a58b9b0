/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet generator for `tenace pktgen`: user space runs this program with
 * BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, and every XDP_TX really leaves
 * through the interface given as the context's ingress_ifindex.
 *
 * With repeat > 1 the kernel does not restore the frame between runs (a run
 * sees the bytes the previous run left), so each run rewrites the whole header
 * from the template and derives every variable field from its sequence number
 * alone: frame N is the same bytes whatever ran before it.
 *   client = N % clients        source address = src + client
 *   port   = (N / clients) % ports   source port = src_port + port
 * The payload is zeros and never written, so it adds nothing to the L4 sum.
 *
 * Verdict contract: XDP_TX for every frame it builds; XDP_ABORTED if the frame
 * handed in is shorter than the configured headers (a user space bug).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PG_TMPL_MAX 96  /* Ethernet + 802.1Q + IPv6 + TCP = 78, rounded up */

/* Set by user space through the skeleton before load (see user/pktgen.c). */
const volatile __u8  tmpl[PG_TMPL_MAX] __attribute__((aligned(8))); /* headers of frame 0 */
const volatile __u32 hdr_len = 0;        /* bytes of tmpl to copy (even) */
const volatile __u32 l3_off = 14;        /* IP header offset (18 with a VLAN tag) */
const volatile __u32 l4_off = 34;        /* TCP/UDP header offset */
const volatile __u8  family = 4;         /* 4 or 6 */
const volatile __u8  l4_proto = IPPROTO_TCP;
const volatile __u32 clients = 1;
const volatile __u32 ports = 1;
const volatile __u32 src_port = 1024;    /* first source port, host order */
const volatile __u32 src4 = 0;           /* first IPv4 client, host order */
const volatile __u64 src6_hi = 0;        /* first IPv6 client, host order halves */
const volatile __u64 src6_lo = 0;
/* Unfolded one's complement sum of the fixed part of the L4 pseudo-header
 * (destination address, protocol, L4 length), in memory (network) order. */
const volatile __u32 l4_fixed_sum = 0;

/* Sequence number of the next frame, shared by every generating thread. */
__u64 next_seq = 0;

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int pktgen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 seq = __sync_fetch_and_add(&next_seq, 1);
	__u32 client = 0, port = 0, l3 = l3_off & 0x3f, l4 = l4_off & 0x7f;
	__u32 n = hdr_len, i;
	__u16 *check;
	__u64 sum;
	__u8 *ip;
	void *l4h;

	if (clients)
		client = seq % clients;
	if (clients && ports)
		port = (seq / clients) % ports;

	/* the whole header from the template (the previous run left its own) */
	if (n > PG_TMPL_MAX)
		return XDP_ABORTED;
	for (i = 0; i < PG_TMPL_MAX; i += 2) {
		if (i >= n)
			break;
		if (data + i + 2 > data_end)
			return XDP_ABORTED;
		*(__u16 *)(data + i) = *(const volatile __u16 *)&tmpl[i];
	}

	ip = data + l3;
	l4h = data + l4;
	if (family == 4) {
		__be32 saddr = bpf_htonl(src4 + client);

		if ((void *)(ip + 20) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(ip + 12, &saddr, 4);
		/* header checksum from scratch: template carries zero there */
		*(__u16 *)(ip + 10) = csum_fold(bpf_csum_diff(NULL, 0, (void *)ip, 20, 0));
		sum = bpf_csum_diff(NULL, 0, (void *)(ip + 12), 4, l4_fixed_sum);
	} else {
		__u64 lo = src6_lo + client;
		__u64 hi = src6_hi + (lo < src6_lo);
		__be64 whi = bpf_cpu_to_be64(hi), wlo = bpf_cpu_to_be64(lo);

		if ((void *)(ip + 40) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(ip + 8, &whi, 8);
		__builtin_memcpy(ip + 16, &wlo, 8);
		sum = bpf_csum_diff(NULL, 0, (void *)(ip + 8), 16, l4_fixed_sum);
	}

	if (l4_proto == IPPROTO_TCP) {
		__u8 *th = l4h;
		__be16 sport = bpf_htons((__u16)(src_port + port));
		__be32 sn = bpf_htonl((__u32)seq);

		if ((void *)(th + 20) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(th, &sport, 2);
		__builtin_memcpy(th + 4, &sn, 4);
		check = (__u16 *)(th + 16);
		sum = bpf_csum_diff(NULL, 0, (void *)th, 20, sum);
		*check = csum_fold(sum);
	} else {
		__u8 *uh = l4h;
		__be16 sport = bpf_htons((__u16)(src_port + port));
		__u16 c;

		if ((void *)(uh + 8) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(uh, &sport, 2);
		check = (__u16 *)(uh + 6);
		sum = bpf_csum_diff(NULL, 0, (void *)uh, 8, sum);
		c = csum_fold(sum);
		*check = c ? c : 0xffff; /* 0 means "no checksum" in UDP */
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
