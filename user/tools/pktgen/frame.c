/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Frame 0 of a spec and the .rodata template the pktgen program builds
 * every other frame from (bpf/pktgen.bpf.c): see tn_pktgen_prepare.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "pktgen.skel.h"
#include "tools/pktgen/pktgen.h"

#define PG_ETH_P_IP    0x0800
#define PG_ETH_P_IPV6  0x86DD
#define PG_ETH_P_8021Q 0x8100
#define PG_TCP_SYN     0x02
#define PG_TCP_ACK     0x10

unsigned int tn_pktgen_header_len(const struct tn_pktgen_spec *spec)
{
	return 14 + (spec->vlan >= 0 ? 4 : 0) + (spec->family == 4 ? 20 : 40) +
	       (spec->kind == TN_PG_UDP ? 8 : 20);
}

/* One's complement sum of 16-bit words read in memory order (len even). */
static __u32 sum16(const __u8 *p, size_t len)
{
	__u32 s = 0;
	__u16 w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		s += w;
	}
	return s;
}

static void put16(__u8 *p, __u16 v) { v = htons(v); memcpy(p, &v, 2); }
static void put32(__u8 *p, __u32 v) { v = htonl(v); memcpy(p, &v, 4); }

/* Where the headers start in a frame of this spec. */
struct layout {
	unsigned int hdr, l3, l4;
	__u8 proto;
	__u32 l4_len;
};

static void layout_of(const struct tn_pktgen_spec *s, struct layout *l)
{
	l->hdr = tn_pktgen_header_len(s);
	l->l3 = 14 + (s->vlan >= 0 ? 4 : 0);
	l->l4 = l->l3 + (s->family == 4 ? 20 : 40);
	l->proto = s->kind == TN_PG_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	l->l4_len = s->size - l->l4;
}

static __u32 first_src4(const struct tn_pktgen_spec *s)
{
	__u32 src4;

	memcpy(&src4, s->src, 4);
	return ntohl(src4);
}

/* A sentence into err and -EINVAL for what the generator cannot send. */
static int check_spec(const struct tn_pktgen_spec *s, unsigned int tmpl_size, char *err, size_t errlen)
{
	unsigned int hdr = tn_pktgen_header_len(s);
	unsigned int min = hdr > TN_PG_SIZE_MIN ? hdr : TN_PG_SIZE_MIN;

	if (s->family != 4 && s->family != 6)
		return snprintf(err, errlen, "address family must be IPv4 or IPv6"), -EINVAL;
	if (s->size < min || s->size > TN_PG_SIZE_MAX)
		return snprintf(err, errlen, "frame size %u out of range: %s %s needs %u..%u bytes",
				s->size, s->family == 4 ? "IPv4" : "IPv6",
				s->kind == TN_PG_UDP ? "UDP" : "TCP", min, TN_PG_SIZE_MAX), -EINVAL;
	if (hdr > tmpl_size)
		return snprintf(err, errlen, "headers of %u bytes exceed the template", hdr), -EINVAL;
	if (s->clients < 1)
		return snprintf(err, errlen, "--clients must be at least 1"), -EINVAL;
	if (s->ports < 1 || s->src_port + (__u64)s->ports - 1 > 65535)
		return snprintf(err, errlen, "source ports %u + %u distinct ports go past 65535",
				s->src_port, s->ports), -EINVAL;
	if (s->dst_port > 65535)
		return snprintf(err, errlen, "destination port %u is not in 0..65535", s->dst_port), -EINVAL;
	if (s->vlan > 4094)
		return snprintf(err, errlen, "VLAN id %d is not in 0..4094", s->vlan), -EINVAL;
	if (s->family == 4 && first_src4(s) + (__u64)s->clients - 1 > 0xffffffffULL)
		return snprintf(err, errlen, "%u clients from the first source address go past 255.255.255.255",
				s->clients), -EINVAL;
	return 0;
}

static void write_eth(const struct tn_pktgen_spec *s, const struct layout *l, __u8 *frame)
{
	memcpy(frame, s->dst_mac, 6);
	memcpy(frame + 6, s->src_mac, 6);
	if (s->vlan >= 0) {
		put16(frame + 12, PG_ETH_P_8021Q);
		put16(frame + 14, (__u16)s->vlan);
	}
	put16(frame + l->l3 - 2, s->family == 4 ? PG_ETH_P_IP : PG_ETH_P_IPV6);
}

/* The IP header; returns the sum of the L4 pseudo-header's fixed part. */
static __u32 write_ip(const struct tn_pktgen_spec *s, const struct layout *l, __u8 *frame)
{
	__u8 pseudo[20] = {}, *ip = frame + l->l3;

	if (s->family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (__u16)(s->size - l->l3));
		put16(ip + 6, 0x4000); /* don't fragment */
		ip[8] = 64;
		ip[9] = l->proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		/* checksum left zero: the program computes it over the header */
		memcpy(pseudo, s->dst, 4);
		pseudo[5] = l->proto;
		put16(pseudo + 6, (__u16)l->l4_len);
		return sum16(pseudo, 8);
	}
	put32(ip, 6u << 28);
	put16(ip + 4, (__u16)l->l4_len);
	ip[6] = l->proto;
	ip[7] = 64;
	memcpy(ip + 8, s->src, 16);
	memcpy(ip + 24, s->dst, 16);
	memcpy(pseudo, s->dst, 16);
	put16(pseudo + 16, (__u16)l->l4_len); /* upper 16 bits of the 32-bit length are 0 */
	pseudo[19] = l->proto;                /* as the last byte of a zero word */
	return sum16(pseudo, 20);
}

static void write_l4(const struct tn_pktgen_spec *s, const struct layout *l, __u8 *frame)
{
	__u8 *th = frame + l->l4;

	put16(th, (__u16)s->src_port);
	put16(th + 2, (__u16)s->dst_port);
	if (s->kind == TN_PG_UDP) {
		put16(th + 4, (__u16)l->l4_len);
		return;
	}
	if (s->kind == TN_PG_ACK)
		put32(th + 8, 1);
	th[12] = 5 << 4;
	th[13] = s->kind == TN_PG_SYN ? PG_TCP_SYN : PG_TCP_ACK;
	put16(th + 14, 64240);
}

static void write_rodata(struct pktgen *skel, const struct tn_pktgen_spec *s, const struct layout *l,
			 const __u8 *frame)
{
	memset((void *)skel->rodata->tmpl, 0, sizeof(skel->rodata->tmpl));
	memcpy((void *)skel->rodata->tmpl, frame, l->hdr);
	skel->rodata->hdr_len = l->hdr;
	skel->rodata->l3_off = l->l3;
	skel->rodata->l4_off = l->l4;
	skel->rodata->family = (__u8)s->family;
	skel->rodata->l4_proto = l->proto;
	skel->rodata->clients = s->clients;
	skel->rodata->ports = s->ports;
	skel->rodata->src_port = s->src_port;
	skel->rodata->src4 = first_src4(s);
	if (s->family == 6) {
		__u64 hi = 0, lo = 0;

		for (int i = 0; i < 8; i++) {
			hi = hi << 8 | s->src[i];
			lo = lo << 8 | s->src[8 + i];
		}
		skel->rodata->src6_hi = hi;
		skel->rodata->src6_lo = lo;
	}
}

int tn_pktgen_prepare(struct pktgen *skel, const struct tn_pktgen_spec *s,
		      __u8 *frame, char *err, size_t errlen)
{
	struct layout l;
	int e = check_spec(s, sizeof(skel->rodata->tmpl), err, errlen);

	if (e)
		return e;
	layout_of(s, &l);
	memset(frame, 0, s->size);
	write_eth(s, &l, frame);
	skel->rodata->l4_fixed_sum = write_ip(s, &l, frame);
	write_l4(s, &l, frame);
	write_rodata(skel, s, &l, frame);
	return 0;
}
