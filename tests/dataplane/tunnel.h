/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnel frames for the data-plane tests: a client's IP packet (built with
 * packets.h) wrapped the way the balancer wraps it (IPIP, IPv6 in IPv6, GUE
 * version 0 or 1, over IPv4 or IPv6), with the outer checksums right, so a
 * test can feed the decap program or compare the balancer's output byte for
 * byte. Also TCP option surgery for the SYN-ACK clamp tests.
 */
#ifndef TENACE_TEST_TUNNEL_H
#define TENACE_TEST_TUNNEL_H

#include "packets.h"
#include "../../headers/tunnel.h"

enum tt_kind { TT_IPIP = 1, TT_GUE0, TT_GUE1 };

struct tt_spec {
	enum tt_kind kind;
	const char *src, *dst;      /* outer addresses; the outer family follows dst */
	uint16_t sport, dport;      /* GUE: outer UDP ports (dport 0 = TN_GUE_PORT_DEFAULT) */
	uint8_t gue_hlen;           /* GUE v0: extension words (filled with 0x5a) */
	int gue_proto;              /* GUE v0: protocol field; 0 = from the inner version, -1 = as given 0 */
	uint8_t tos;                /* outer TOS / traffic class */
	uint32_t flow_label;        /* outer IPv6 flow label */
	uint8_t ttl;                /* default 64 */
	bool no_df;                 /* outer IPv4 without DF */
	uint16_t ip_id;
	const uint8_t *dmac, *smac; /* default tp_mac_balancer / tp_mac_router */
};

/* Bytes the tunnel of spec adds. */
static inline size_t tt_overhead(const struct tt_spec *t)
{
	size_t n = tp_family_of(t->dst) == 6 ? 40 : 20;

	if (t->kind == TT_GUE1)
		n += 8;
	else if (t->kind == TT_GUE0)
		n += 8 + 4 + 4u * t->gue_hlen;
	return n;
}

/* Ethernet frame of `inner` (an IP packet) in the tunnel of spec: its length. */
static inline size_t tt_encap(uint8_t *out, size_t cap, const struct tt_spec *t, const uint8_t *inner, size_t ilen)
{
	int fam = tp_family_of(t->dst);
	uint8_t src[16], dst[16], *ip = out + 14, *l4;
	size_t ohl = fam == 6 ? 40 : 20, total = ohl + (t->kind == TT_IPIP ? 0 : tt_overhead(t) - ohl) + ilen;
	uint8_t inner_proto = (inner[0] >> 4) == 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	uint8_t proto = t->kind == TT_IPIP ? inner_proto : IPPROTO_UDP;

	if (14 + total > cap)
		abort();
	memset(out, 0, 14 + total);
	memcpy(out, t->dmac ? t->dmac : tp_mac_balancer, 6);
	memcpy(out + 6, t->smac ? t->smac : tp_mac_router, 6);
	tp_put16(out + 12, fam == 6 ? ETH_P_IPV6 : ETH_P_IP);
	tp_addr16(t->src, src);
	tp_addr16(t->dst, dst);
	if (fam == 4) {
		ip[0] = 0x45;
		ip[1] = t->tos;
		tp_put16(ip + 2, (uint16_t)total);
		tp_put16(ip + 4, t->ip_id);
		tp_put16(ip + 6, t->no_df ? 0 : 0x4000);
		ip[8] = t->ttl ? t->ttl : 64;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		tp_put16(ip + 10, tp_csum_fold(tp_csum_add(0, ip, 20)));
	} else {
		tp_put32(ip, 0x60000000u | ((uint32_t)t->tos << 20) | (t->flow_label & 0xfffff));
		tp_put16(ip + 4, (uint16_t)(total - 40));
		ip[6] = proto;
		ip[7] = t->ttl ? t->ttl : 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	l4 = ip + ohl;
	if (t->kind != TT_IPIP) {
		tp_put16(l4, t->sport);
		tp_put16(l4 + 2, t->dport ? t->dport : TN_GUE_PORT_DEFAULT);
		tp_put16(l4 + 4, (uint16_t)(total - ohl));
		/* checksum 0: allowed over IPv4, and over IPv6 by RFC 6935 */
		l4 += 8;
		if (t->kind == TT_GUE0) {
			l4[0] = t->gue_hlen & 0x1f;
			l4[1] = t->gue_proto > 0 ? (uint8_t)t->gue_proto : t->gue_proto < 0 ? 0 : inner_proto;
			memset(l4 + 4, 0x5a, 4u * t->gue_hlen);
			l4 += 4 + 4u * t->gue_hlen;
		}
	}
	memcpy(l4, inner, ilen);
	return 14 + total;
}

/* The IP packet of a packets.h spec (no Ethernet header): its length. */
static inline size_t tt_inner(uint8_t *buf, size_t cap, const struct tp_spec *s)
{
	size_t l4;

	return tp_build_ip(buf, cap, s, &l4);
}

/* Recompute the TCP checksum of the IP packet at ip (IPv4 or IPv6, no
 * extension headers). */
static inline void tt_tcp_csum(uint8_t *ip, size_t len)
{
	int v6 = (ip[0] >> 4) == 6;
	size_t hl = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4;
	uint8_t *th = ip + hl, pl[2];
	uint32_t sum;

	th[16] = th[17] = 0;
	sum = tp_csum_add(0, ip + (v6 ? 8 : 12), v6 ? 32 : 8);
	tp_put16(pl, (uint16_t)(len - hl));
	sum = tp_csum_add(sum, pl, 2);
	sum += IPPROTO_TCP;
	sum = tp_csum_add(sum, th, len - hl);
	tp_put16(th + 16, tp_csum_fold(sum));
}

/* Whether the TCP checksum of the IP packet at ip is right. */
static inline bool tt_tcp_csum_ok(const uint8_t *ip, size_t len)
{
	uint8_t copy[TP_FRAME_MAX];
	int v6 = (ip[0] >> 4) == 6;
	size_t hl = v6 ? 40 : (size_t)(ip[0] & 0xf) * 4;

	memcpy(copy, ip, len);
	tt_tcp_csum(copy, len);
	return copy[hl + 16] == ip[hl + 16] && copy[hl + 17] == ip[hl + 17];
}

/* A TCP packet with the given options (optlen a multiple of 4) in frame f:
 * the spec's TCP header gets doff 5 + optlen/4, lengths and checksums fixed. */
static inline void tt_build_tcp_opts(struct tp_frame *f, const struct tp_spec *s, const uint8_t *opts, size_t optlen)
{
	struct tp_spec sp = *s;
	uint8_t *ip, *th;

	sp.payload = (uint16_t)(s->payload + optlen);
	tp_build(f, &sp);
	ip = f->data + f->l3;
	th = f->data + f->l4;
	memcpy(th + 20, opts, optlen);
	th[12] = (uint8_t)((5 + optlen / 4) << 4);
	tt_tcp_csum(ip, f->len - f->l3);
}

#endif /* TENACE_TEST_TUNNEL_H */
