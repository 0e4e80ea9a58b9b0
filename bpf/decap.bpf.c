/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenace's server side: strips the tunnels the balancer sends (IPIP, IPv6 in
 * IPv6, GUE versions 0 and 1) from packets to this server's VIPs and hands the
 * client's packet to the stack as if it had arrived plain; lowers the MSS of
 * the SYN-ACKs that answer tunnelled SYNs, so clients size their segments for
 * the tunnel. Attached by `tenace decap` on TC ingress and egress (clsact).
 *
 * Verdict contract:
 *   not a tunnel packet, or one to an address that is no VIP here,
 *   or one that cannot be stripped (outer fragment, too short)  -> TC_ACT_OK untouched, counted
 *   a tunnel packet to a VIP                                    -> outer headers removed, TC_ACT_OK
 *   a tunnel packet to a VIP that is malformed or that the
 *   kernel refuses to shrink                                    -> TC_ACT_SHOT, counted by reason
 *   egress: every packet                                        -> TC_ACT_OK (SYN-ACKs maybe clamped)
 *
 * The outer UDP checksum of GUE is not checked (zero is accepted over IPv6
 * too, RFC 6935): the client's own checksums protect the inner packet, and
 * the outer IPv4 header's checksum is verified.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tunnel.h"

/* Linux 6.3 flags (the uapi headers of the build host may be older). */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define ETH_P_8021Q_   0x8100
#define ETH_P_8021AD_  0x88A8
#define IP_MF_OFFSET   0x3fff
#define TCP_FLAG_SYN_  0x02
#define TCP_FLAG_RST_  0x04
#define TCP_FLAG_ACK_  0x10
/* bytes from the frame's start that must be linear: Ethernet, outer IPv6,
 * UDP, GUE with extension words, inner IPv6 (or IPv4 with options) and TCP's flags */
#define DECAP_PULL     (14 + 40 + 8 + 4 + 124 + 60 + 14)
#define CLAMP_PULL     (14 + 60 + 60)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_decap_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TN_DECAP_MAX_VIPS);
	__type(key, struct tn_decap_vip_key);
	__type(value, struct tn_decap_vip_stats);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TN_DECAP_FLOWS);
	__type(key, struct tn_decap_flow_key);
	__type(value, struct tn_decap_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_decap_stats);
} stats SEC(".maps");

/* Where a tunnel packet's parts are, as offsets from the frame's start. */
struct tunnel {
	__u32 l3;           /* outer IP header */
	__u32 inner;        /* inner IP header */
	__u32 end;          /* end of the tunnel's payload (outer or UDP length) */
	__u8  outer_family;
	__u8  inner_family; /* from GUE v0's protocol; 0: from the inner version nibble */
	__u8  kind;         /* TN_D_DECAP_* */
	__u8  overhead;     /* inner - l3 */
};

static __always_inline int count(__u32 reason, __u64 bytes, int action)
{
	__u32 zero = 0;
	struct tn_decap_stats *st = bpf_map_lookup_elem(&stats, &zero);

	if (st && reason < TN_D__COUNT) {
		st->reason[reason].packets++;
		st->reason[reason].bytes += bytes;
	}
	return action;
}

/* The Internet checksum of an IPv4 header is valid (sums to 0xffff). */
static __always_inline int ipv4_csum_ok(const struct iphdr *iph, const void *data_end, __u32 hlen)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

	for (i = 0; i < 30; i++) {
		if ((__u32)i * 2 >= hlen || (const void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* UDP to the GUE port at off: the inner header's offset, or a PASS reason. */
static __always_inline int gue(void *data, void *data_end, __u32 off, __u32 end, __u16 port, struct tunnel *t)
{
	struct udphdr *uh = data + off;
	struct tn_gue_hdr *g;
	__u8 *first;
	__u32 ulen;

	if ((void *)(uh + 1) > data_end)
		return TN_D_PASS_TRUNCATED;
	if (uh->dest != bpf_htons(port))
		return TN_D_PASS_NOT_TUNNEL;
	ulen = bpf_ntohs(uh->len);
	if (!end || ulen < sizeof(*uh) || off + ulen > end)
		t->end = 0; /* inconsistent: malformed if it turns out to be for a VIP */
	else
		t->end = off + ulen;
	first = (void *)(uh + 1);
	if ((void *)(first + 1) > data_end)
		return TN_D_PASS_TRUNCATED;
	switch (*first >> 6) {
	case 0:
		g = (void *)first;
		if ((void *)(g + 1) > data_end)
			return TN_D_PASS_TRUNCATED;
		if (g->vchl & 0x20)
			return TN_D_PASS_UNSUPPORTED; /* a control message, not data */
		if (g->proto == IPPROTO_IPIP)
			t->inner_family = TN_FAMILY_V4;
		else if (g->proto == IPPROTO_IPV6)
			t->inner_family = TN_FAMILY_V6;
		else
			return TN_D_PASS_UNSUPPORTED;
		t->inner = off + sizeof(*uh) + sizeof(*g) + (g->vchl & 0x1f) * 4;
		t->kind = TN_D_DECAP_GUE0;
		return TN_D_DECAP_GUE0;
	case 1:
		t->inner = off + sizeof(*uh);
		t->kind = TN_D_DECAP_GUE1;
		return TN_D_DECAP_GUE1;
	default:
		return TN_D_PASS_UNSUPPORTED;
	}
}

/* The outer headers: a DECAP reason with t filled, or the PASS reason. */
static __always_inline int find_tunnel(void *data, void *data_end, __u64 pkt_len, __u16 port,
				       struct tunnel *t)
{
	struct ethhdr *eth = data;
	__u32 hlen, total;

	if ((void *)(eth + 1) > data_end)
		return TN_D_PASS_TRUNCATED;
	t->l3 = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_8021Q_) || eth->h_proto == bpf_htons(ETH_P_8021AD_))
		return TN_D_PASS_UNSUPPORTED; /* attach to the VLAN's own interface */
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return TN_D_PASS_TRUNCATED;
		if (iph->protocol != IPPROTO_IPIP && iph->protocol != IPPROTO_IPV6 &&
		    iph->protocol != IPPROTO_UDP)
			return TN_D_PASS_NOT_TUNNEL;
		hlen = iph->ihl * 4;
		total = bpf_ntohs(iph->tot_len);
		if (iph->version != 4 || hlen < sizeof(*iph) || total < hlen)
			return TN_D_PASS_NOT_TUNNEL; /* the stack drops it */
		if ((void *)iph + hlen > data_end)
			return TN_D_PASS_TRUNCATED;
		if (!ipv4_csum_ok(iph, data_end, hlen))
			return TN_D_PASS_NOT_TUNNEL; /* the stack drops it */
		t->outer_family = TN_FAMILY_V4;
		t->end = t->l3 + total;
		if (t->end > pkt_len)
			t->end = 0;
		if (iph->frag_off & bpf_htons(IP_MF_OFFSET)) {
			if (iph->protocol != IPPROTO_UDP || (iph->frag_off & bpf_htons(0x1fff)))
				return iph->protocol == IPPROTO_UDP ? TN_D_PASS_NOT_TUNNEL : TN_D_PASS_FRAGMENT;
			/* a first UDP fragment: a tunnel one when it is to the GUE port */
			return gue(data, data_end, t->l3 + hlen, 0, port, t) >= TN_D_PASS_NOT_TUNNEL ?
				TN_D_PASS_NOT_TUNNEL : TN_D_PASS_FRAGMENT;
		}
		if (iph->protocol == IPPROTO_UDP)
			return gue(data, data_end, t->l3 + hlen, t->end, port, t);
		t->inner = t->l3 + hlen;
		t->inner_family = iph->protocol == IPPROTO_IPIP ? TN_FAMILY_V4 : TN_FAMILY_V6;
		t->kind = TN_D_DECAP_IPIP4;
		return TN_D_DECAP_IPIP4;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return TN_D_PASS_TRUNCATED;
		if (ip6h->version != 6)
			return TN_D_PASS_NOT_TUNNEL;
		t->outer_family = TN_FAMILY_V6;
		t->end = t->l3 + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
		if (t->end > pkt_len)
			t->end = 0;
		if (ip6h->nexthdr == IPPROTO_FRAGMENT)
			return TN_D_PASS_FRAGMENT;
		if (ip6h->nexthdr == IPPROTO_UDP)
			return gue(data, data_end, t->l3 + sizeof(*ip6h), t->end, port, t);
		if (ip6h->nexthdr != IPPROTO_IPIP && ip6h->nexthdr != IPPROTO_IPV6)
			return TN_D_PASS_NOT_TUNNEL;
		t->inner = t->l3 + sizeof(*ip6h);
		t->inner_family = ip6h->nexthdr == IPPROTO_IPIP ? TN_FAMILY_V4 : TN_FAMILY_V6;
		t->kind = TN_D_DECAP_IPIP6;
		return TN_D_DECAP_IPIP6;
	}
	return TN_D_PASS_NOT_TUNNEL;
}

/* A TCP SYN in the inner packet: remember its flow for the SYN-ACK clamp. */
static __always_inline void remember_syn(void *data, void *data_end, __u32 l4, const struct tn_decap_vip_key *vk,
					 const __u8 *client, __u16 overhead)
{
	struct tcphdr *th = data + l4;
	struct tn_decap_flow_key fk = {};
	struct tn_decap_flow fv = { .overhead = overhead };

	if ((void *)(th + 1) > data_end)
		return;
	if ((((__u8 *)th)[13] & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_ | TCP_FLAG_RST_)) != TCP_FLAG_SYN_)
		return;
	__builtin_memcpy(fk.client, client, 16);
	__builtin_memcpy(fk.vip, vk->addr, 16);
	fk.client_port = th->source;
	fk.vip_port = th->dest;
	fk.family = vk->family;
	bpf_map_update_elem(&flows, &fk, &fv, BPF_ANY);
}

/* The inner header: DECAP (vk filled, *inner_len set) or a PASS/DROP reason. */
static __always_inline int check_inner(void *data, void *data_end, struct tunnel *t, struct tn_decap_vip_key *vk,
				       __u8 *client, __u32 *inner_len, __u32 *l4, __u8 *tcp)
{
	__u8 *v = data + t->inner;
	__u8 family;

	if ((void *)(v + 1) > data_end)
		return TN_D_PASS_TRUNCATED;
	family = (*v >> 4) == 4 ? TN_FAMILY_V4 : (*v >> 4) == 6 ? TN_FAMILY_V6 : 0;
	if (t->kind == TN_D_DECAP_GUE1 && !family)
		return TN_D_PASS_UNSUPPORTED; /* GUE v1 carries IP only */
	if (!t->inner_family)
		t->inner_family = family;
	vk->family = t->inner_family;
	if (t->inner_family == TN_FAMILY_V4) {
		struct iphdr *iph = (void *)v;

		if ((void *)(iph + 1) > data_end)
			return TN_D_PASS_TRUNCATED;
		__builtin_memcpy(vk->addr, &iph->daddr, 4);
		__builtin_memcpy(client, &iph->saddr, 4);
		if (!bpf_map_lookup_elem(&vips, vk))
			return TN_D_PASS_NOT_VIP;
		if (family != TN_FAMILY_V4 || iph->ihl < 5 || bpf_ntohs(iph->tot_len) < iph->ihl * 4)
			return TN_D_DROP_MALFORMED;
		*inner_len = bpf_ntohs(iph->tot_len);
		*l4 = t->inner + iph->ihl * 4;
		*tcp = iph->protocol == IPPROTO_TCP && !(iph->frag_off & bpf_htons(IP_MF_OFFSET));
	} else {
		struct ipv6hdr *ip6h = (void *)v;

		if ((void *)(ip6h + 1) > data_end)
			return TN_D_PASS_TRUNCATED;
		__builtin_memcpy(vk->addr, &ip6h->daddr, 16);
		__builtin_memcpy(client, &ip6h->saddr, 16);
		if (!bpf_map_lookup_elem(&vips, vk))
			return TN_D_PASS_NOT_VIP;
		if (family != TN_FAMILY_V6)
			return TN_D_DROP_MALFORMED;
		*inner_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
		*l4 = t->inner + sizeof(*ip6h);
		*tcp = ip6h->nexthdr == IPPROTO_TCP;
	}
	/* the outer lengths must hold the whole inner packet */
	if (!t->end || t->inner + *inner_len > t->end)
		return TN_D_DROP_MALFORMED;
	return t->kind;
}

SEC("tc")
int tenace_decap_ingress(struct __sk_buff *skb)
{
	struct tn_decap_vip_key vk = {};
	struct tn_decap_vip_stats *vs;
	struct tn_decap_config *cfg;
	struct tunnel t = {};
	__u32 zero = 0, inner_len = 0, l4 = 0, len;
	__u64 bytes = skb->len, flags;
	__u8 client[16] = {}, tcp = 0;
	void *data, *data_end;
	int r;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	if (skb->data_end - skb->data < DECAP_PULL && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < DECAP_PULL ? skb->len : DECAP_PULL);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;

	r = find_tunnel(data, data_end, skb->len, cfg->gue_port, &t);
	if (r >= TN_D_PASS_NOT_TUNNEL)
		return count(r, bytes, TC_ACT_OK);
	r = check_inner(data, data_end, &t, &vk, client, &inner_len, &l4, &tcp);
	if (r == TN_D_DROP_MALFORMED)
		return count(r, bytes, TC_ACT_SHOT);
	if (r >= TN_D_PASS_NOT_TUNNEL)
		return count(r, bytes, TC_ACT_OK);

	len = t.inner - t.l3;
	if (tcp && cfg->mss_clamp)
		remember_syn(data, data_end, l4, &vk, client, (__u16)len);
	flags = BPF_F_ADJ_ROOM_FIXED_GSO;
	if (t.inner_family != t.outer_family)
		flags |= t.inner_family == TN_FAMILY_V4 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4 : BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	if (len > 0xfff || bpf_skb_adjust_room(skb, -(__s32)len, BPF_ADJ_ROOM_MAC, flags))
		return count(TN_D_DROP_ADJUST, bytes, TC_ACT_SHOT);
	if (t.inner_family != t.outer_family) {
		__be16 proto = bpf_htons(t.inner_family == TN_FAMILY_V4 ? ETH_P_IP : ETH_P_IPV6);

		bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0);
	}
	vs = bpf_map_lookup_elem(&vips, &vk);
	if (vs) {
		vs->packets++;
		vs->bytes += inner_len;
	}
	return count(t.kind, bytes, TC_ACT_OK);
}

/* ---- egress: the SYN-ACK clamp ----------------------------------------------- */

#define MAX_OPTIONS 12  /* options walked (Linux puts MSS first) */

/* Offset of the MSS option's value within the TCP options (copied into
 * opts, optlen bytes), or -1. */
static __always_inline int find_mss(const __u8 *opts, __u32 optlen)
{
	__u32 off = 0;
	int i;

#pragma unroll
	for (i = 0; i < MAX_OPTIONS; i++) {
		__u8 kind, len;

		if (off >= optlen || off >= 40)
			return -1;
		kind = opts[off];
		if (kind == 0)
			return -1;
		if (kind == 1) {
			off++;
			continue;
		}
		if (off + 1 >= optlen || off + 1 >= 40)
			return -1;
		len = opts[off + 1];
		if (len < 2)
			return -1;
		if (kind == 2)
			return len == 4 && off + 4 <= optlen ? (int)off + 2 : -1;
		off += len;
	}
	return -1;
}

/* The addresses and TCP header of an IPv4/IPv6 TCP SYN-ACK: l4 offset (and
 * the TCP header's length in *doff), or 0. */
static __always_inline __u32 syn_ack(void *data, void *data_end, struct tn_decap_flow_key *fk, __u32 *doff)
{
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 l4;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & bpf_htons(IP_MF_OFFSET)) || iph->ihl < 5)
			return 0;
		fk->family = TN_FAMILY_V4;
		__builtin_memcpy(fk->vip, &iph->saddr, 4);
		__builtin_memcpy(fk->client, &iph->daddr, 4);
		l4 = sizeof(*eth) + iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end || ip6h->nexthdr != IPPROTO_TCP)
			return 0;
		fk->family = TN_FAMILY_V6;
		__builtin_memcpy(fk->vip, &ip6h->saddr, 16);
		__builtin_memcpy(fk->client, &ip6h->daddr, 16);
		l4 = sizeof(*eth) + sizeof(*ip6h);
	} else {
		return 0;
	}
	if (l4 > 14 + 60)
		return 0;
	th = data + l4;
	if ((void *)(th + 1) > data_end)
		return 0;
	if ((((__u8 *)th)[13] & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_ | TCP_FLAG_RST_)) != (TCP_FLAG_SYN_ | TCP_FLAG_ACK_))
		return 0;
	fk->vip_port = th->source;
	fk->client_port = th->dest;
	*doff = th->doff * 4;
	return l4;
}

SEC("tc")
int tenace_decap_egress(struct __sk_buff *skb)
{
	struct tn_decap_flow_key fk = {};
	struct tn_decap_vip_key vk = {};
	struct tn_decap_vip_stats *vs;
	struct tn_decap_config *cfg;
	struct tn_decap_flow *fl;
	__u32 zero = 0, l4, doff = 0, optlen;
	__u8 opts[40] = {};
	__u16 mss, floor;
	int at;
	__be16 old, new;
	void *data, *data_end;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->mss_clamp)
		return TC_ACT_OK;
	if (skb->data_end - skb->data < CLAMP_PULL && skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < CLAMP_PULL ? skb->len : CLAMP_PULL);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	l4 = syn_ack(data, data_end, &fk, &doff);
	if (!l4)
		return TC_ACT_OK;
	__builtin_memcpy(vk.addr, fk.vip, 16);
	vk.family = fk.family;
	vs = bpf_map_lookup_elem(&vips, &vk);
	if (!vs)
		return TC_ACT_OK;
	fl = bpf_map_lookup_elem(&flows, &fk);
	if (!fl)
		return count(TN_D_MSS_NOT_TUNNELLED, skb->len, TC_ACT_OK);
	if (doff <= 20)
		return count(TN_D_MSS_NO_OPTION, skb->len, TC_ACT_OK);
	optlen = doff - 20;
	if (optlen > 40 || bpf_skb_load_bytes(skb, l4 + 20, opts, optlen))
		return count(TN_D_MSS_NO_OPTION, skb->len, TC_ACT_OK);
	at = find_mss(opts, optlen);
	if (at < 0 || at > 38)
		return count(TN_D_MSS_NO_OPTION, skb->len, TC_ACT_OK);
	__builtin_memcpy(&old, &opts[at], sizeof(old));
	mss = bpf_ntohs(old);
	/* never below the smallest MSS each family must accept */
	floor = fk.family == TN_FAMILY_V4 ? 536 : 1220;
	if (mss > floor + fl->overhead)
		mss -= fl->overhead;
	else if (mss > floor)
		mss = floor;
	new = bpf_htons(mss);
	if (new != old) {
		bpf_skb_store_bytes(skb, l4 + 20 + at, &new, sizeof(new), 0);
		bpf_l4_csum_replace(skb, l4 + offsetof(struct tcphdr, check), old, new, sizeof(new));
	}
	vs->clamped++;
	return count(TN_D_MSS_CLAMPED, skb->len, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
