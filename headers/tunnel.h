/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tunnels between the balancer and its servers: the wire constants both ends
 * agree on (GUE, overheads), and the ABI of the servers' decapsulation
 * program (bpf/decap.bpf.c) shared with `tenace decap` (user/decap/).
 *
 * Kept apart from tenace.h: the decap program is a separate program run on
 * the servers, with its own maps and pin directory. Same rules: fixed-width
 * types, explicit padding, size assertions.
 */
#ifndef TENACE_TUNNEL_H
#define TENACE_TUNNEL_H

#include "tenace.h"

/* ---- the tunnels ---------------------------------------------------------- */
#define TN_GUE_PORT_DEFAULT   6080     /* outer UDP destination port of GUE */
#define TN_UDP_HLEN           8
#define TN_GUE_HLEN           4        /* GUE version 0 base header (no extension fields) */
#define TN_IPV4_HLEN          20
#define TN_IPV6_HLEN          40

/* Bytes a tunnel adds in front of the client's packet. */
#define TN_OVERHEAD_IPIP4     TN_IPV4_HLEN                               /* 20 */
#define TN_OVERHEAD_IPIP6     TN_IPV6_HLEN                               /* 40 */
#define TN_OVERHEAD_GUE1_V4   (TN_IPV4_HLEN + TN_UDP_HLEN)                /* 28 */
#define TN_OVERHEAD_GUE0_V4   (TN_IPV4_HLEN + TN_UDP_HLEN + TN_GUE_HLEN)  /* 32 */
#define TN_OVERHEAD_GUE1_V6   (TN_IPV6_HLEN + TN_UDP_HLEN)                /* 48 */
#define TN_OVERHEAD_GUE0_V6   (TN_IPV6_HLEN + TN_UDP_HLEN + TN_GUE_HLEN)  /* 52 */

/* The balancer's choices (bpf/encap.h), which tests predict. */
#define TN_GUE_SPORT_BASE     49152    /* outer UDP source ports: 49152 + 14 bits of the flow's hash */
#define TN_ICMP_QUOTE         128      /* bytes of the client's packet a "too big" ICMP quotes */

/*
 * GUE version 0 (draft-ietf-intarea-gue): first byte Ver(2) C(1) Hlen(5),
 * Hlen counting 32-bit words of extension fields after this header; then the
 * IP protocol of the payload (4 or 41) and 16 bits of flags. Version 1 has
 * no GUE header: the IP header follows UDP (its version nibble 4 or 6 reads
 * as GUE version 1).
 */
struct tn_gue_hdr {
	__u8  vchl;        /* version << 6 | control << 5 | hlen */
	__u8  proto;       /* IPPROTO_IPIP (4) or IPPROTO_IPV6 (41) */
	__be16 flags;
};
TN_STATIC_ASSERT(sizeof(struct tn_gue_hdr) == TN_GUE_HLEN, "tn_gue_hdr layout");

/* ---- the decap program ------------------------------------------------------ */
#define TN_DECAP_PIN_DIR_DEFAULT "/sys/fs/bpf/tenace-decap"
#define TN_DECAP_MAX_VIPS     1024
#define TN_DECAP_FLOWS        65536    /* tunnelled SYNs remembered for the SYN-ACK clamp */
#define TN_DECAP_VERSION      1

/* Counters by reason (names in user/decap/). Ingress: one per packet; egress:
 * one per SYN-ACK from a VIP (other egress packets are not counted). */
enum tn_decap_reason {
	TN_D_DECAP_IPIP4 = 0,    /* IP in IPv4 stripped (to a VIP) */
	TN_D_DECAP_IPIP6,        /* IP in IPv6 stripped */
	TN_D_DECAP_GUE0,         /* GUE version 0 stripped */
	TN_D_DECAP_GUE1,         /* GUE version 1 (direct IP) stripped */
	TN_D_PASS_NOT_TUNNEL,    /* not IPIP nor UDP to the GUE port: passed */
	TN_D_PASS_NOT_VIP,       /* a tunnel packet to an address that is no VIP here: passed untouched */
	TN_D_PASS_FRAGMENT,      /* an outer fragment (cannot be stripped before reassembly): passed */
	TN_D_PASS_TRUNCATED,     /* too short to show the inner destination: passed */
	TN_D_PASS_UNSUPPORTED,   /* GUE control message, unknown GUE version or payload, VLAN tag in the frame */
	TN_D_DROP_MALFORMED,     /* to a VIP, but the inner packet does not fit or contradicts the tunnel */
	TN_D_DROP_ADJUST,        /* to a VIP, but the kernel refused to remove the outer headers */
	TN_D_MSS_CLAMPED,        /* egress: SYN-ACK of a tunnelled SYN, MSS lowered by the overhead */
	TN_D_MSS_NOT_TUNNELLED,  /* egress: SYN-ACK from a VIP whose SYN was not seen in a tunnel */
	TN_D_MSS_NO_OPTION,      /* egress: SYN-ACK of a tunnelled SYN without an MSS option */
	TN_D__COUNT
};

struct tn_decap_stats {
	struct tn_counter reason[TN_D__COUNT];
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_stats) == 16 * TN_D__COUNT, "tn_decap_stats layout");

struct tn_decap_vip_key {
	__u8  addr[16];    /* IPv4 in the first 4 bytes */
	__u8  family;      /* TN_FAMILY_V4 / V6 */
	__u8  _pad[3];
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_vip_key) == 20, "tn_decap_vip_key layout");

/* Per-CPU counters of one VIP. */
struct tn_decap_vip_stats {
	__u64 packets;     /* decapsulated to this VIP */
	__u64 bytes;       /* inner bytes */
	__u64 clamped;     /* SYN-ACKs from this VIP whose MSS was lowered */
	__u64 _pad;
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_vip_stats) == 32, "tn_decap_vip_stats layout");

/* A SYN that came through a tunnel, as its SYN-ACK will be seen. */
struct tn_decap_flow_key {
	__u8  client[16];
	__u8  vip[16];
	__be16 client_port;
	__be16 vip_port;
	__u8  family;
	__u8  _pad[3];
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_flow_key) == 40, "tn_decap_flow_key layout");

struct tn_decap_flow {
	__u16 overhead;    /* bytes the tunnel added */
	__u16 _pad;
	__u32 _pad2;
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_flow) == 8, "tn_decap_flow layout");

/* One element, written by `tenace decap`, read by both programs. */
struct tn_decap_config {
	__u32 version;     /* TN_DECAP_VERSION */
	__u32 ifindex;     /* interface the programs are attached to */
	__u16 gue_port;    /* host order */
	__u8  mss_clamp;   /* 1: lower the MSS of tunnelled flows' SYN-ACKs */
	__u8  own_qdisc;   /* 1: `tenace decap` created the clsact qdisc (removed with --off) */
	__u32 _pad;
	char  ifname[16];  /* IF_NAMESIZE */
};
TN_STATIC_ASSERT(sizeof(struct tn_decap_config) == 32, "tn_decap_config layout");

#endif /* TENACE_TUNNEL_H */
