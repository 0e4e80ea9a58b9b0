/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsers of the Tenace data plane: a bounds-checked cursor and one
 * small function per header. Only uapi types, so the same code compiles for
 * the host (fuzzing, unit tests) as well as for BPF.
 */
#ifndef TENACE_PARSE_H
#define TENACE_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "../headers/tenace.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifdef __BPF__
#include <bpf/bpf_endian.h>
#define tn_ntohs(x) bpf_ntohs(x)
#define tn_htons(x) bpf_htons(x)
#else
#include <arpa/inet.h>
#define tn_ntohs(x) ntohs(x)
#define tn_htons(x) htons(x)
#endif

#define TN_ETH_P_8021Q  0x8100
#define TN_ETH_P_8021AD 0x88A8
#define TN_IP_MF        0x2000
#define TN_IP_OFFSET    0x1fff
/* ICMP types (linux/icmp.h pulls in libc headers, unusable for BPF) */
#define TN_ICMP_DEST_UNREACH    3
#define TN_ICMP_TIME_EXCEEDED   11
#define TN_ICMPV6_DEST_UNREACH  1
#define TN_ICMPV6_PKT_TOOBIG    2
#define TN_ICMPV6_TIME_EXCEED   3

struct tn_cursor {
	void *pos;
	void *end;
};

struct tn_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the parser learnt. Addresses are 16 bytes, IPv4 in the first four. */
struct tn_pkt {
	__u8  src[16];
	__u8  dst[16];
	__be16 sport;
	__be16 dport;
	__u8  proto;      /* L4 protocol (of the quoted packet for ICMP errors) */
	__u8  family;     /* TN_FAMILY_V4 / V6 */
	__u8  fragment;   /* part of a fragmented datagram */
	__u8  icmp_error; /* ICMP error quoting a packet: the tuple is the quoted one, reversed */
	__u8  syn;        /* a TCP SYN without ACK: the client has shown nothing more yet */
};

enum tn_parse_result {
	TN_PARSE_OK = 0,       /* tuple complete (ports valid unless fragment) */
	TN_PARSE_NOT_IP,       /* not IPv4/IPv6 */
	TN_PARSE_TRUNCATED,    /* too short to know the destination: not ours */
	TN_PARSE_MALFORMED,    /* destination known, rest broken: drop if VIP */
	TN_PARSE_OTHER_L4,     /* destination known, protocol not balanced */
};

static __always_inline int tn_parse_eth(struct tn_cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct tn_vlan_hdr *vlan;
	__u16 p;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	p = tn_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < TN_MAX_VLAN_TAGS; i++) {
		if (p != TN_ETH_P_8021Q && p != TN_ETH_P_8021AD)
			break;
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end)
			return -1;
		c->pos = vlan + 1;
		p = tn_ntohs(vlan->proto);
	}
	*proto = p;
	return 0;
}

/* L4 ports of TCP/UDP at the cursor (and whether a TCP segment is a bare
 * SYN); the full header must be present. */
static __always_inline int tn_parse_ports(struct tn_cursor *c, struct tn_pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end)
			return TN_PARSE_MALFORMED;
		if (th->doff < 5 || c->pos + th->doff * 4 > c->end)
			return TN_PARSE_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->syn = th->syn && !th->ack;
		return TN_PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end)
			return TN_PARSE_MALFORMED;
		if (tn_ntohs(uh->len) < sizeof(*uh))
			return TN_PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		return TN_PARSE_OK;
	}
	return TN_PARSE_OTHER_L4;
}

/* The first 8 bytes of a quoted L4 header are enough for ports. */
static __always_inline int tn_parse_quoted_ports(struct tn_cursor *c, __be16 *sport, __be16 *dport)
{
	__be16 *ports = c->pos;

	if ((void *)(ports + 2) > c->end)
		return -1;
	*sport = ports[0];
	*dport = ports[1];
	return 0;
}

/* IPv4 header at the cursor; fills addresses, protocol and fragment state. */
static __always_inline int tn_parse_ipv4_hdr(struct tn_cursor *c, struct tn_pkt *p, int quoted)
{
	struct iphdr *iph = c->pos;
	__u32 hlen;
	__u16 frag;

	if ((void *)(iph + 1) > c->end)
		return TN_PARSE_TRUNCATED;
	p->family = TN_FAMILY_V4;
	__builtin_memcpy(p->src, &iph->saddr, 4);
	__builtin_memcpy(p->dst, &iph->daddr, 4);
	p->proto = iph->protocol;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph))
		return TN_PARSE_MALFORMED;
	if (c->pos + hlen > c->end)
		return TN_PARSE_MALFORMED;
	/* a quoted header is cut short by design; the outer one must fit */
	if (!quoted && (tn_ntohs(iph->tot_len) < hlen ||
			c->pos + tn_ntohs(iph->tot_len) > c->end))
		return TN_PARSE_MALFORMED;
	frag = tn_ntohs(iph->frag_off);
	if (frag & (TN_IP_MF | TN_IP_OFFSET))
		p->fragment = (frag & TN_IP_OFFSET) ? 2 : 1; /* 2: no L4 header */
	c->pos += hlen;
	return TN_PARSE_OK;
}

/* IPv6 header and extension headers (bounded walk). */
static __always_inline int tn_parse_ipv6_hdr(struct tn_cursor *c, struct tn_pkt *p, int quoted)
{
	struct ipv6hdr *ip6h = c->pos;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6h + 1) > c->end)
		return TN_PARSE_TRUNCATED;
	p->family = TN_FAMILY_V6;
	__builtin_memcpy(p->src, &ip6h->saddr, 16);
	__builtin_memcpy(p->dst, &ip6h->daddr, 16);
	p->proto = ip6h->nexthdr; /* known L4 protocol even when the rest is malformed */
	if (ip6h->version != 6)
		return TN_PARSE_MALFORMED;
	if (!quoted && (void *)(ip6h + 1) + tn_ntohs(ip6h->payload_len) > c->end)
		return TN_PARSE_MALFORMED;
	nexthdr = ip6h->nexthdr;
	c->pos = ip6h + 1;
#pragma unroll
	for (i = 0; i < TN_MAX_IPV6_EXT; i++) {
		__u8 *opt = c->pos;

		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_ROUTING &&
		    nexthdr != IPPROTO_DSTOPTS && nexthdr != IPPROTO_FRAGMENT)
			break;
		if ((void *)(opt + 8) > c->end)
			return TN_PARSE_MALFORMED;
		if (nexthdr == IPPROTO_FRAGMENT) {
			__be16 off = *(__be16 *)(opt + 2);

			p->fragment = (tn_ntohs(off) & 0xfff8) ? 2 : 1;
			nexthdr = opt[0];
			c->pos = opt + 8;
		} else {
			nexthdr = opt[0];
			c->pos = opt + (opt[1] + 1) * 8;
		}
	}
	if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	    nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT)
		return TN_PARSE_MALFORMED; /* more extension headers than we walk */
	p->proto = nexthdr;
	return TN_PARSE_OK;
}

/*
 * An ICMP error quotes the packet that caused it. Packets from a VIP (the
 * servers' direct replies) quote src=VIP; steer the error to the server of
 * the client flow it quotes, so Path MTU discovery works through us.
 */
static __always_inline int tn_parse_icmp_error(struct tn_cursor *c, struct tn_pkt *p)
{
	struct tn_pkt in = {};
	int r;

	if (p->family == TN_FAMILY_V4)
		r = tn_parse_ipv4_hdr(c, &in, 1);
	else
		r = tn_parse_ipv6_hdr(c, &in, 1);
	if (r != TN_PARSE_OK || in.fragment == 2 || in.family != p->family)
		return TN_PARSE_OTHER_L4;
	if (in.proto != IPPROTO_TCP && in.proto != IPPROTO_UDP)
		return TN_PARSE_OTHER_L4;
	if (tn_parse_quoted_ports(c, &in.sport, &in.dport))
		return TN_PARSE_OTHER_L4;
	/* the client is the quoted destination */
	__builtin_memcpy(p->src, in.dst, 16);
	__builtin_memcpy(p->dst, in.src, 16);
	p->sport = in.dport;
	p->dport = in.sport;
	p->proto = in.proto;
	p->icmp_error = 1;
	p->fragment = 0;
	return TN_PARSE_OK;
}

static __always_inline int tn_parse_icmp(struct tn_cursor *c, struct tn_pkt *p)
{
	__u8 *icmp = c->pos;

	if ((void *)(icmp + 8) > c->end)
		return TN_PARSE_OTHER_L4;
	if (p->family == TN_FAMILY_V4) {
		if (icmp[0] != TN_ICMP_DEST_UNREACH && icmp[0] != TN_ICMP_TIME_EXCEEDED)
			return TN_PARSE_OTHER_L4;
	} else {
		if (icmp[0] != TN_ICMPV6_DEST_UNREACH && icmp[0] != TN_ICMPV6_PKT_TOOBIG &&
		    icmp[0] != TN_ICMPV6_TIME_EXCEED)
			return TN_PARSE_OTHER_L4;
	}
	c->pos = icmp + 8;
	return tn_parse_icmp_error(c, p);
}

/* Parse one frame. On TN_PARSE_OK, p holds the client->VIP tuple. */
static __always_inline int tn_parse(void *data, void *data_end, struct tn_pkt *p)
{
	struct tn_cursor c = { .pos = data, .end = data_end };
	__u16 eth_proto;
	int r;

	if (tn_parse_eth(&c, &eth_proto))
		return TN_PARSE_NOT_IP;
	if (eth_proto == ETH_P_IP)
		r = tn_parse_ipv4_hdr(&c, p, 0);
	else if (eth_proto == ETH_P_IPV6)
		r = tn_parse_ipv6_hdr(&c, p, 0);
	else
		return TN_PARSE_NOT_IP;
	if (r != TN_PARSE_OK)
		return r;
	if (p->fragment == 2)
		return (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) ?
			TN_PARSE_OK : TN_PARSE_OTHER_L4;
	if (p->proto == IPPROTO_ICMP && p->family == TN_FAMILY_V4)
		return tn_parse_icmp(&c, p);
	if (p->proto == IPPROTO_ICMPV6 && p->family == TN_FAMILY_V6)
		return tn_parse_icmp(&c, p);
	return tn_parse_ports(&c, p);
}

#endif /* TENACE_PARSE_H */
