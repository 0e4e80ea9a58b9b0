/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Forwarding to servers anywhere (farms with forwarding ipip or gue), for
 * tenace.bpf.c: once the server is chosen, the client's IP packet is wrapped
 * in an outer header from the farm's encapSource to the server, and the
 * kernel's FIB says which next hop and interface it leaves by.
 *
 * Path MTU: a packet whose tunnel would exceed the route's MTU, or the MTU
 * the fabric reported for that server (pmtu map, 10 minutes), is answered
 * with an ICMP "fragmentation needed" / "packet too big" to the client, from
 * the farm's address of the client's family. The fabric's own ICMP about a
 * tunnel packet (to an encapSource: the kernel has no tunnel to give it to)
 * is learnt here, then passed on.
 *
 * Verdicts follow the program's contract: unresolved routes and neighbours
 * drop with their own reasons; the ICMP leaves by XDP_TX.
 */
#ifndef TENACE_ENCAP_H
#define TENACE_ENCAP_H

#include "tunnel.h"

#define TN_AF_INET        2
#define TN_AF_INET6       10
#define TN_PMTU_MIN4      552     /* the kernel's min_pmtu: lower reports are raised to it */
#define TN_PMTU_MIN6      1280
#define TN_ICMP_FRAG_NEEDED 4

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TN_PMTU_ENTRIES);
	__type(key, struct tn_pmtu_key);
	__type(value, struct tn_pmtu);
} pmtu SEC(".maps");

/* Every farm's encapSource: the fabric's ICMP about a tunnel quotes one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * TN_MAX_FARMS);
	__type(key, struct tn_pmtu_key);
	__type(value, __u32);
} encap_sources SEC(".maps");

/* Length of the Ethernet header with its VLAN tags (already parsed). */
static __always_inline __u32 tn_l2_len(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct tn_vlan_hdr *v;
	__be16 proto;
	__u32 off = sizeof(*eth);
	int i;

	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < TN_MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(TN_ETH_P_8021Q) && proto != bpf_htons(TN_ETH_P_8021AD))
			break;
		v = data + off;
		if ((void *)(v + 1) > data_end)
			return 0;
		proto = v->proto;
		off += sizeof(*v);
	}
	return off;
}

/* The flow's 5-tuple hash: the GUE source port and IPv6 flow label, stable
 * per flow (fragments: per datagram), so the fabric's ECMP spreads tunnels. */
static __attribute__((noinline)) __u32 tn_flow_hash(const struct tn_pkt *p) /* own frame: see tn_hash_key */
{
	const __u32 *s = (const __u32 *)p->src, *d = (const __u32 *)p->dst;
	__u32 h = 0x9e3779b9u;

	h = tn_mix(h, s[0]);
	h = tn_mix(h, s[1]);
	h = tn_mix(h, s[2]);
	h = tn_mix(h, s[3]);
	h = tn_mix(h, d[0]);
	h = tn_mix(h, d[1]);
	h = tn_mix(h, d[2]);
	h = tn_mix(h, d[3]);
	if (!p->fragment)
		h = tn_mix(h, ((__u32)p->sport << 16) | p->dport);
	h = tn_mix(h, p->proto);
	return tn_fmix(h);
}

static __always_inline __u16 tn_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* An IPv4 header without options, DF set, its checksum computed. */
static __always_inline void tn_put_ipv4(struct iphdr *o, __u8 tos, __u16 len, __u8 proto,
					const __u8 *src, const __u8 *dst, int df)
{
	__u16 *w = (__u16 *)o;
	__u64 sum = 0;
	int i;

	*(__u8 *)o = 0x45;
	o->tos = tos;
	o->tot_len = bpf_htons(len);
	o->id = 0;
	o->frag_off = df ? bpf_htons(0x4000) : 0;
	o->ttl = 64;
	o->protocol = proto;
	o->check = 0;
	__builtin_memcpy(&o->saddr, src, 4);
	__builtin_memcpy(&o->daddr, dst, 4);
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	o->check = tn_csum_fold(sum);
}

static __always_inline void tn_put_ipv6(struct ipv6hdr *o, __u8 tclass, __u32 label, __u16 payload, __u8 proto,
					const __u8 *src, const __u8 *dst)
{
	*(__be32 *)o = bpf_htonl(0x60000000u | ((__u32)tclass << 20) | (label & 0xfffff));
	o->payload_len = bpf_htons(payload);
	o->nexthdr = proto;
	o->hop_limit = 64;
	__builtin_memcpy(&o->saddr, src, 16);
	__builtin_memcpy(&o->daddr, dst, 16);
}

/* The L2 header of the frame at old, MACs swapped, to new (l2: 14, 18 or 22). */
static __always_inline void tn_l2_reply(__u8 *new, const __u8 *old, __u32 l2)
{
	__builtin_memcpy(new, old + 6, 6);
	__builtin_memcpy(new + 6, old, 6);
	if (l2 == 14)
		__builtin_memcpy(new + 12, old + 12, 2);
	else if (l2 == 18)
		__builtin_memcpy(new + 12, old + 12, 6);
	else
		__builtin_memcpy(new + 12, old + 12, 10);
}

struct tn_pseudo6 {
	__u8 src[16];
	__u8 dst[16];
	__be32 len;
	__be32 next;
};

/*
 * Turn the frame (the client's packet behind l2 bytes) into an ICMP error
 * back to the client from src: IPv4 "fragmentation needed" / ICMPv6 "packet
 * too big" with mtu, quoting TN_ICMP_QUOTE bytes of the packet. 0, or -1
 * (the frame is left unusable: drop it).
 */
static __always_inline int tn_icmp_too_big(struct xdp_md *ctx, __u32 l2, int v6, __u32 mtu, const __u8 *src)
{
	__u32 hl = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr), room = hl + 8;
	struct tn_pseudo6 ph = {};
	void *data, *data_end;
	__u8 *ip, *icmp, *q;
	__s64 sum;

	if (l2 != 14 && l2 != 18 && l2 != 22)
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)room))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* new L2 + IP + ICMP, then the quote: the old frame starts at data + room */
	if (data + room + l2 + TN_ICMP_QUOTE > data_end || data + 22 + 48 + TN_ICMP_QUOTE > data_end)
		return -1;
	tn_l2_reply(data, data + room, l2);
	ip = data + l2;
	icmp = ip + hl;
	q = icmp + 8;
	if (!v6) {
		struct iphdr *qi = (void *)q;

		tn_put_ipv4((void *)ip, 0, hl + 8 + TN_ICMP_QUOTE, IPPROTO_ICMP, src, (__u8 *)&qi->saddr, 0);
		icmp[0] = TN_ICMP_DEST_UNREACH;
		icmp[1] = TN_ICMP_FRAG_NEEDED;
		*(__u16 *)(icmp + 2) = 0;
		*(__u16 *)(icmp + 4) = 0;
		*(__be16 *)(icmp + 6) = bpf_htons((__u16)mtu);
		sum = bpf_csum_diff(0, 0, (__be32 *)icmp, 8 + TN_ICMP_QUOTE, 0);
	} else {
		struct ipv6hdr *qi = (void *)q;

		__builtin_memcpy(ph.src, src, 16);
		__builtin_memcpy(ph.dst, &qi->saddr, 16);
		ph.len = bpf_htonl(8 + TN_ICMP_QUOTE);
		ph.next = bpf_htonl(IPPROTO_ICMPV6);
		tn_put_ipv6((void *)ip, 0, 0, 8 + TN_ICMP_QUOTE, IPPROTO_ICMPV6, ph.src, ph.dst);
		icmp[0] = TN_ICMPV6_PKT_TOOBIG;
		icmp[1] = 0;
		*(__u16 *)(icmp + 2) = 0;
		*(__be32 *)(icmp + 4) = bpf_htonl(mtu);
		sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
		if (sum < 0)
			return -1;
		sum = bpf_csum_diff(0, 0, (__be32 *)icmp, 8 + TN_ICMP_QUOTE, (__wsum)sum);
	}
	if (sum < 0)
		return -1;
	*(__u16 *)(icmp + 2) = tn_csum_fold((__u64)sum);
	/* the rest of the client's packet goes */
	return bpf_xdp_adjust_tail(ctx, (int)(l2 + room + TN_ICMP_QUOTE) - (int)(data_end - data)) ? -1 : 0;
}

/* Too big for the tunnel (outer MTU mtu): the client is told, the packet dropped. */
static __always_inline int tn_too_big(struct xdp_md *ctx, struct tn_run *run, const struct tn_pkt *p,
				      const struct tn_encap *e, __u32 l2, __u32 mtu, __u32 overhead, __u64 bytes)
{
	int v6 = p->family == TN_FAMILY_V6;
	__u8 src[16];
	__u32 adv = mtu > overhead ? mtu - overhead : 0;

	if (p->icmp_error)
		return verdict(run, TN_R_DROP_TOO_BIG, bytes, XDP_DROP); /* never an error about an error */
	/* from the node's address of the client's family, else the VIP */
	if (!v6 && (e->flags & TN_ENCAP_F_SRC4))
		__builtin_memcpy(src, e->src4, 4);
	else if (v6 && (e->flags & TN_ENCAP_F_SRC6))
		__builtin_memcpy(src, e->src6, 16);
	else
		__builtin_memcpy(src, p->dst, 16);
	if (!v6 && adv < 68)
		adv = 68;
	if (v6 && adv < TN_PMTU_MIN6)
		adv = TN_PMTU_MIN6;
	if (tn_icmp_too_big(ctx, l2, v6, adv, src))
		return verdict(run, TN_R_DROP_TOO_BIG, bytes, XDP_DROP);
	return verdict(run, TN_R_ICMP_TOO_BIG, bytes, XDP_TX);
}

/* The fabric's ICMP about a tunnel packet of ours lowers that server's MTU. */
static __always_inline void tn_pmtu_learn(struct xdp_md *ctx, struct tn_run *run, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tn_pmtu_key k = {}, sk = {};
	struct tn_pmtu v = {}, *cur;
	__u32 l2 = tn_l2_len(data, data_end), mtu, min;
	__u8 *icmp, proto;
	__u64 now;

	if (!l2 || l2 > 22)
		return;
	if (*(__be16 *)(data + l2 - 2) == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l2, *q;

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_ICMP || ip->ihl != 5)
			return;
		icmp = (void *)(ip + 1);
		q = (void *)(icmp + 8);
		if ((void *)(q + 1) > data_end || icmp[0] != TN_ICMP_DEST_UNREACH || icmp[1] != TN_ICMP_FRAG_NEEDED)
			return;
		mtu = bpf_ntohs(*(__be16 *)(icmp + 6));
		proto = q->protocol;
		__builtin_memcpy(sk.addr, &q->saddr, 4);
		__builtin_memcpy(k.addr, &q->daddr, 4);
		sk.family = k.family = TN_FAMILY_V4;
		min = TN_PMTU_MIN4;
	} else if (*(__be16 *)(data + l2 - 2) == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l2, *q;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_ICMPV6)
			return;
		icmp = (void *)(ip6 + 1);
		q = (void *)(icmp + 8);
		if ((void *)(q + 1) > data_end || icmp[0] != TN_ICMPV6_PKT_TOOBIG)
			return;
		mtu = bpf_ntohl(*(__be32 *)(icmp + 4));
		proto = q->nexthdr;
		__builtin_memcpy(sk.addr, &q->saddr, 16);
		__builtin_memcpy(k.addr, &q->daddr, 16);
		sk.family = k.family = TN_FAMILY_V6;
		min = TN_PMTU_MIN6;
	} else {
		return;
	}
	if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6 && proto != IPPROTO_UDP)
		return;
	if (!mtu || !bpf_map_lookup_elem(&encap_sources, &sk))
		return;
	if (mtu < min)
		mtu = min;
	if (mtu > 0xffff)
		mtu = 0xffff;
	now = bpf_ktime_get_ns();
	cur = bpf_map_lookup_elem(&pmtu, &k);
	/* only lower a live entry; an expired one starts again */
	if (cur && now < cur->expires_ns && cur->mtu < mtu)
		mtu = cur->mtu;
	v.mtu = (__u16)mtu;
	v.expires_ns = now + TN_PMTU_EXPIRES_NS;
	bpf_map_update_elem(&pmtu, &k, &v, BPF_ANY);
	count_reason(run, TN_R_PMTU_LEARNED, bytes);
}

/*
 * Forward the frame (the client's packet, parsed into p) to srv in the
 * farm's tunnel. The inner packet is unchanged; the outer header carries DF
 * (IPv4), the inner DSCP (ECN not copied: RFC 6040 compatibility mode, the
 * decap program does not propagate CE) and, for GUE, a zero UDP checksum
 * (IPv6: RFC 6935).
 */
static __always_inline int tn_encap_forward(struct xdp_md *ctx, struct tn_run *run, const struct tn_pkt *p,
					    const struct tn_encap *e, const struct tn_server *srv, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct tn_pmtu_key pk = {};
	struct tn_pmtu *pm;
	__u32 l2 = tn_l2_len(data, data_end), inner_len, ohl, overhead, frame, mtu = 0, h, delta;
	int out6 = srv->family == TN_FAMILY_V6, in6 = p->family == TN_FAMILY_V6;
	int gue = e->forwarding == TN_FWD_GUE, gue0 = gue && e->gue_version == 0;
	__u8 tos, proto, inner_proto = in6 ? IPPROTO_IPV6 : IPPROTO_IPIP, dst[16], src[16];
	__u16 sport;
	__u8 *o;
	int rc;

	if (!l2 || l2 > 22)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	if (!(e->flags & (out6 ? TN_ENCAP_F_SRC6 : TN_ENCAP_F_SRC4)))
		return verdict(run, TN_R_DROP_ENCAP_NO_ROUTE, bytes, XDP_DROP); /* refused by validation */
	if (in6) {
		struct ipv6hdr *ip6 = data + l2;

		if ((void *)(ip6 + 1) > data_end)
			return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
		inner_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		tos = (__u8)(bpf_ntohl(*(__be32 *)ip6) >> 20);
	} else {
		struct iphdr *ip = data + l2;

		if ((void *)(ip + 1) > data_end)
			return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
		inner_len = bpf_ntohs(ip->tot_len);
		tos = ip->tos;
	}
	tos &= 0xfc;
	frame = data_end - data;
	if (l2 + inner_len > frame || inner_len > 0xffff - 64)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED); /* the parser checked the lengths */
	ohl = out6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	overhead = ohl + (gue ? TN_UDP_HLEN : 0) + (gue0 ? TN_GUE_HLEN : 0);
	proto = gue ? IPPROTO_UDP : inner_proto;
	h = tn_flow_hash(p);
	sport = TN_GUE_SPORT_BASE + (h & 0x3fff);
	__builtin_memcpy(dst, srv->addr, 16);
	if (out6)
		__builtin_memcpy(src, e->src6, 16);
	else
		__builtin_memcpy(src, e->src4, 4);

	/* the next hop and interface toward the server, and the route's MTU */
	fib.family = out6 ? TN_AF_INET6 : TN_AF_INET;
	fib.l4_protocol = proto;
	fib.sport = gue ? bpf_htons(sport) : 0;
	fib.dport = gue ? e->gue_port : 0;
	fib.tot_len = (__u16)(inner_len + overhead);
	fib.ifindex = ctx->ingress_ifindex;
	if (out6) {
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	} else {
		__builtin_memcpy(&fib.ipv4_src, src, 4);
		__builtin_memcpy(&fib.ipv4_dst, dst, 4);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		mtu = fib.mtu_result;
	else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return verdict(run, TN_R_DROP_ENCAP_NO_NEIGH, bytes, XDP_DROP);
	else if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return verdict(run, TN_R_DROP_ENCAP_NO_ROUTE, bytes, XDP_DROP);
	if (!mtu) {
		__builtin_memcpy(pk.addr, dst, 16);
		pk.family = srv->family;
		pm = bpf_map_lookup_elem(&pmtu, &pk);
		if (pm && bpf_ktime_get_ns() < pm->expires_ns && inner_len + overhead > pm->mtu)
			mtu = pm->mtu;
	}
	if (mtu)
		return tn_too_big(ctx, run, p, e, l2, mtu, overhead, bytes);

	/* Ethernet padding goes, then room in front for the outer headers */
	if (frame > l2 + inner_len && bpf_xdp_adjust_tail(ctx, (int)(l2 + inner_len) - (int)frame))
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	delta = sizeof(struct ethhdr) + overhead - l2;
	if (bpf_xdp_adjust_head(ctx, -(int)delta))
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	o = data + sizeof(struct ethhdr);
	if ((void *)(o + TN_IPV6_HLEN + TN_UDP_HLEN + TN_GUE_HLEN) > data_end)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	__builtin_memcpy(data, fib.dmac, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, fib.smac, ETH_ALEN);
	*(__be16 *)(data + 12) = bpf_htons(out6 ? ETH_P_IPV6 : ETH_P_IP);
	if (out6)
		tn_put_ipv6((void *)o, tos, h, (__u16)(inner_len + overhead - ohl), proto, src, dst);
	else
		tn_put_ipv4((void *)o, tos, (__u16)(inner_len + overhead), proto, src, dst, 1);
	if (gue) {
		struct udphdr *uh = (void *)(o + ohl);

		uh->source = bpf_htons(sport);
		uh->dest = e->gue_port;
		uh->len = bpf_htons((__u16)(inner_len + overhead - ohl));
		uh->check = 0;
		if (gue0) {
			struct tn_gue_hdr *g = (void *)(uh + 1);

			g->vchl = 0;
			g->proto = inner_proto;
			g->flags = 0;
		}
	}
	count_reason(run, gue ? TN_R_ENCAP_GUE : TN_R_ENCAP_IPIP, bytes);
	if (fib.ifindex == ctx->ingress_ifindex)
		return verdict(run, TN_R_TX, bytes, XDP_TX);
	rc = bpf_redirect_map(&tx_ports, fib.ifindex, XDP_DROP);
	return verdict(run, rc == XDP_REDIRECT ? TN_R_REDIRECT : TN_R_DROP_ENCAP_NO_ROUTE, bytes, rc);
}

#endif /* TENACE_ENCAP_H */
