/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet builder and runner shared by the data-plane tests.
 *
 *   struct tp_frame f;
 *   tp_build(&f, &(struct tp_spec){ .src = "198.51.100.7", .dst = "192.0.2.10",
 *                                   .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 });
 *   verdict = tp_run(prog_fd, 1, f.data, f.len, out, &out_len);
 *
 * Frames are complete and consistent (lengths, IPv4 header checksum, TCP/UDP/
 * ICMP checksums) unless a test corrupts them afterwards through the offsets
 * recorded in struct tp_frame. Everything here is static inline so each test
 * includes only what it uses. Keep this interface stable: several test files
 * share it.
 */
#ifndef TENACE_TEST_PACKETS_H
#define TENACE_TEST_PACKETS_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include "../../headers/tenace.h"

#define TP_FRAME_MAX 2048

#define TP_MAX_VLANS 4
#define TP_MAX_EXT   10

/* Default MACs of a built frame: the client's router -> the balancer. */
static const uint8_t tp_mac_balancer[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t tp_mac_router[6]   = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };

struct tp_spec {
	const char *src, *dst;     /* "198.51.100.7" or "2001:db8::7"; the family follows dst */
	uint8_t proto;             /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or any other */
	uint16_t sport, dport;     /* host order (TCP/UDP) */
	uint16_t payload;          /* bytes after the L4 header (or after the IP headers) */
	uint8_t tcp_flags;         /* default ACK (0x10) */
	const uint8_t *dmac, *smac;/* default tp_mac_balancer / tp_mac_router */
	uint8_t nvlan;             /* VLAN tags, outermost first */
	uint16_t vlan_tpid[TP_MAX_VLANS]; /* 0 = 802.1Q (0x8100) */
	uint8_t ipv4_opt_words;    /* IPv4 options: ihl = 5 + this (0..10), NOP-filled */
	uint8_t next;              /* IPv6 extension headers, in order */
	uint8_t ext[TP_MAX_EXT];   /* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _FRAGMENT */
	uint8_t ext_len[TP_MAX_EXT]; /* Hdr Ext Len (8-octet units beyond the first 8) */
	uint16_t frag_offset;      /* in 8-byte units; non-zero: no L4 header is written */
	bool more_frags;           /* MF (IPv4) / M (IPv6) */
	uint32_t frag_id;
	/* IPv6: a fragment header is added after the other extension headers
	 * when frag_offset or more_frags is set and ext[] holds none. */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_info;        /* bytes 4..7 of the ICMP header (MTU, id/seq), host order */
	const struct tp_spec *quote; /* ICMP error: the packet it quotes (IP header onwards) */
	uint16_t quote_len;        /* bytes of it to quote; 0 = all of it */
	uint8_t ttl;               /* default 64 */
};

struct tp_frame {
	uint8_t data[TP_FRAME_MAX];
	uint32_t len;
	uint16_t l3;               /* offset of the (outer) IP header */
	uint16_t l4;               /* offset of the L4 header (first byte after the IP headers) */
	uint16_t ethertype_off;    /* offset of the last EtherType field */
	uint8_t family;            /* 4 or 6 */
};

/* ---- small helpers --------------------------------------------------------- */

static inline int tp_family_of(const char *addr)
{
	return strchr(addr, ':') ? 6 : 4;
}

/* Text address to the 16-byte form of the ABI (IPv4 in the first 4 bytes). */
static inline void tp_addr16(const char *addr, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(tp_family_of(addr) == 6 ? AF_INET6 : AF_INET, addr, out) != 1) {
		fprintf(stderr, "packets.h: bad address %s\n", addr);
		abort();
	}
}

static inline struct tn_vip_key tp_vip_key(const char *addr, uint16_t port, uint8_t proto)
{
	struct tn_vip_key k;

	memset(&k, 0, sizeof(k));
	tp_addr16(addr, k.addr);
	k.port = htons(port);
	k.proto = proto;
	k.family = tp_family_of(addr) == 6 ? TN_FAMILY_V6 : TN_FAMILY_V4;
	k.kind = TN_VIP_KIND_PORT;
	return k;
}

static inline void tp_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static inline void tp_put32(uint8_t *p, uint32_t v) { tp_put16(p, v >> 16); tp_put16(p + 2, v & 0xffff); }
static inline uint16_t tp_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline uint32_t tp_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += tp_get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t tp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- the builder ----------------------------------------------------------- */

/* A minimal Ethernet/IPv4/UDP frame of len bytes (zero payload) from
 * src:sport to dst:dport (host order), MACs aa:.. (balancer) and cc:..
 * (router); the IPv4 checksum is set, the UDP one left 0 (optional). */
static inline void tp_udp4(uint8_t *pkt, size_t len, uint32_t src, uint16_t sport,
			   uint32_t dst, uint16_t dport)
{
	uint8_t *ip = pkt + 14, *udp = ip + 20;

	memset(pkt, 0, len);
	memset(pkt, 0xaa, 6);
	memset(pkt + 6, 0xcc, 6);
	tp_put16(pkt + 12, ETH_P_IP);
	ip[0] = 0x45;
	tp_put16(ip + 2, (uint16_t)(len - 14));
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	tp_put32(ip + 12, src);
	tp_put32(ip + 16, dst);
	tp_put16(ip + 10, tp_csum_fold(tp_csum_add(0, ip, 20)));
	tp_put16(udp, sport);
	tp_put16(udp + 2, dport);
	tp_put16(udp + 4, (uint16_t)(len - 34));
}

/* An interface other than `ingress` (a redirect target), 0 if none. */
static inline uint32_t tp_other_ifindex(uint32_t ingress)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	uint32_t found = 0;

	for (i = ifs; i && i->if_index; i++)
		if (i->if_index != ingress && !found)
			found = i->if_index;
	if (ifs)
		if_freenameindex(ifs);
	return found;
}

static inline int tp_has_ext(const struct tp_spec *s, uint8_t type)
{
	for (int i = 0; i < s->next; i++)
		if (s->ext[i] == type)
			return 1;
	return 0;
}

/* The IP packet (IP header onwards) of spec at buf; returns its length and
 * the offset of the L4 header in *l4. */
static inline size_t tp_build_ip(uint8_t *buf, size_t cap, const struct tp_spec *s, size_t *l4out)
{
	uint8_t src[16], dst[16], exts[TP_MAX_EXT + 1], elen[TP_MAX_EXT + 1];
	int fam = tp_family_of(s->dst), n_ext = 0, i;
	uint8_t proto = s->proto;
	size_t off, l4, hl = 0, end;
	bool frag = s->frag_offset || s->more_frags;
	bool write_l4 = s->frag_offset == 0;

	if (cap < 1500) {
		fprintf(stderr, "packets.h: buffer too small\n");
		abort();
	}
	memset(buf, 0, cap);
	tp_addr16(s->src, src);
	tp_addr16(s->dst, dst);
	if (tp_family_of(s->src) != fam) {
		fprintf(stderr, "packets.h: %s and %s are not of one family\n", s->src, s->dst);
		abort();
	}
	if (fam == 4) {
		hl = 20 + 4u * s->ipv4_opt_words;
		buf[0] = 0x40 | (uint8_t)(hl / 4);
		tp_put16(buf + 4, (uint16_t)(s->frag_id ? s->frag_id : 0x1234));
		tp_put16(buf + 6, (uint16_t)((s->more_frags ? 0x2000 : 0) | (s->frag_offset & 0x1fff)));
		buf[8] = s->ttl ? s->ttl : 64;
		buf[9] = proto;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		for (i = 20; i < (int)hl; i++)
			buf[i] = 1; /* NOP */
		l4 = hl;
	} else {
		for (i = 0; i < s->next && i < TP_MAX_EXT; i++) {
			exts[n_ext] = s->ext[i];
			elen[n_ext++] = s->ext[i] == IPPROTO_FRAGMENT ? 0 : s->ext_len[i];
		}
		if (frag && !tp_has_ext(s, IPPROTO_FRAGMENT)) {
			exts[n_ext] = IPPROTO_FRAGMENT;
			elen[n_ext++] = 0;
		}
		buf[0] = 0x60;
		buf[6] = n_ext ? exts[0] : proto;
		buf[7] = s->ttl ? s->ttl : 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
		off = 40;
		for (i = 0; i < n_ext; i++) {
			uint8_t *e = buf + off;

			e[0] = i + 1 < n_ext ? exts[i + 1] : proto;
			if (exts[i] == IPPROTO_FRAGMENT) {
				tp_put16(e + 2, (uint16_t)((s->frag_offset << 3) | (s->more_frags ? 1 : 0)));
				tp_put32(e + 4, s->frag_id ? s->frag_id : 0x12345678);
				off += 8;
			} else {
				e[1] = elen[i];
				/* one PadN option filling the header */
				e[2] = 1;
				e[3] = (uint8_t)((elen[i] + 1) * 8 - 4);
				off += (elen[i] + 1) * 8u;
			}
		}
		l4 = off;
	}

	end = l4;
	if (write_l4 && proto == IPPROTO_TCP) {
		tp_put16(buf + l4, s->sport);
		tp_put16(buf + l4 + 2, s->dport);
		tp_put32(buf + l4 + 4, 1000);
		tp_put32(buf + l4 + 8, 0);
		buf[l4 + 12] = 5 << 4;
		buf[l4 + 13] = s->tcp_flags ? s->tcp_flags : 0x10;
		tp_put16(buf + l4 + 14, 65535);
		end += 20;
	} else if (write_l4 && proto == IPPROTO_UDP) {
		tp_put16(buf + l4, s->sport);
		tp_put16(buf + l4 + 2, s->dport);
		end += 8;
	} else if (write_l4 && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)) {
		buf[l4] = s->icmp_type;
		buf[l4 + 1] = s->icmp_code;
		tp_put32(buf + l4 + 4, s->icmp_info);
		end += 8;
		if (s->quote) {
			uint8_t inner[TP_FRAME_MAX];
			size_t il4, ilen = tp_build_ip(inner, sizeof(inner), s->quote, &il4);

			if (s->quote_len && s->quote_len < ilen)
				ilen = s->quote_len;
			memcpy(buf + end, inner, ilen);
			end += ilen;
		}
	}
	for (i = 0; i < s->payload; i++)
		buf[end + i] = (uint8_t)(0xa5 ^ (i * 7));
	end += s->payload;
	if (end > cap)
		abort();

	/* lengths and checksums */
	if (fam == 4) {
		tp_put16(buf + 2, (uint16_t)end);
		tp_put16(buf + 10, tp_csum_fold(tp_csum_add(0, buf, hl)));
	} else {
		tp_put16(buf + 4, (uint16_t)(end - 40));
	}
	if (write_l4 && proto == IPPROTO_UDP)
		tp_put16(buf + l4 + 4, (uint16_t)(end - l4));
	if (write_l4 && !frag && (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMPV6 ||
				  proto == IPPROTO_ICMP)) {
		uint32_t sum = 0;
		size_t coff = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
		uint8_t pl[2];

		if (proto != IPPROTO_ICMP) {
			/* pseudo header */
			sum = tp_csum_add(sum, src, fam == 4 ? 4 : 16);
			sum = tp_csum_add(sum, dst, fam == 4 ? 4 : 16);
			tp_put16(pl, (uint16_t)(end - l4));
			sum = tp_csum_add(sum, pl, 2);
			sum += proto;
		}
		sum = tp_csum_add(sum, buf + l4, end - l4);
		uint16_t c = tp_csum_fold(sum);

		if (c == 0 && proto == IPPROTO_UDP)
			c = 0xffff;
		tp_put16(buf + l4 + coff, c);
	}
	*l4out = l4;
	return end;
}

/* A whole Ethernet frame of spec into f. */
static inline void tp_build(struct tp_frame *f, const struct tp_spec *s)
{
	size_t off = 12, l4;
	int i;

	memset(f, 0, sizeof(*f));
	memcpy(f->data, s->dmac ? s->dmac : tp_mac_balancer, 6);
	memcpy(f->data + 6, s->smac ? s->smac : tp_mac_router, 6);
	for (i = 0; i < s->nvlan && i < TP_MAX_VLANS; i++) {
		tp_put16(f->data + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		tp_put16(f->data + off + 2, (uint16_t)(100 + i)); /* TCI: VLAN id 100, 101, ... */
		off += 4;
	}
	f->family = (uint8_t)tp_family_of(s->dst);
	f->ethertype_off = (uint16_t)off;
	tp_put16(f->data + off, f->family == 6 ? ETH_P_IPV6 : ETH_P_IP);
	off += 2;
	f->l3 = (uint16_t)off;
	f->len = (uint32_t)(off + tp_build_ip(f->data + off, sizeof(f->data) - off, s, &l4));
	f->l4 = (uint16_t)(off + l4);
}

/* An ARP request (who-has target, tell sender), broadcast. */
static inline void tp_build_arp(struct tp_frame *f, const char *sender, const char *target)
{
	uint8_t *d = f->data;

	memset(f, 0, sizeof(*f));
	memset(d, 0xff, 6);
	memcpy(d + 6, tp_mac_router, 6);
	tp_put16(d + 12, ETH_P_ARP);
	tp_put16(d + 14, 1);          /* Ethernet */
	tp_put16(d + 16, ETH_P_IP);
	d[18] = 6;
	d[19] = 4;
	tp_put16(d + 20, 1);          /* request */
	memcpy(d + 22, tp_mac_router, 6);
	inet_pton(AF_INET, sender, d + 28);
	inet_pton(AF_INET, target, d + 38);
	f->len = 60;                  /* padded to the Ethernet minimum */
	f->ethertype_off = 12;
	f->l3 = f->l4 = 14;
}

/* ---- running a frame through the program ---------------------------------------
 * Returns the XDP verdict, or a negative errno when the kernel refused the run
 * (a frame shorter than ETH_HLEN, for one). out may be NULL. */
static inline int tp_run(int prog_fd, uint32_t ingress_ifindex, const void *in, uint32_t len,
			 void *out, uint32_t *out_len)
{
	struct xdp_md ctx;
	uint8_t scratch[TP_FRAME_MAX + 512];
	struct bpf_test_run_opts o;
	int err;

	memset(&ctx, 0, sizeof(ctx));
	ctx.data_end = len;
	ctx.ingress_ifindex = ingress_ifindex;
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.data_in = in;
	o.data_size_in = len;
	o.data_out = out ? out : scratch;
	o.data_size_out = out ? TP_FRAME_MAX : sizeof(scratch);
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	o.repeat = 1;
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return err < 0 ? err : -err;
	if (out_len)
		*out_len = o.data_size_out;
	return (int)o.retval;
}

static inline const char *tp_verdict_name(int v)
{
	switch (v) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	default: return "error";
	}
}

#endif /* TENACE_TEST_PACKETS_H */
