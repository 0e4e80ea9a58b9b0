/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace pktgen`: a packet generator on BPF_PROG_RUN with live frames
 * (the XDP program bpf/pktgen.bpf.c builds every frame and returns XDP_TX).
 */
#ifndef TENACE_PKTGEN_H
#define TENACE_PKTGEN_H

#include <stddef.h>
#include <linux/types.h>

#define TN_PG_SIZE_MIN 60    /* shortest Ethernet frame without its FCS */
#define TN_PG_SIZE_MAX 1518  /* 1500 bytes of IP + Ethernet + one VLAN tag */

enum tn_pktgen_kind { TN_PG_SYN = 0, TN_PG_ACK, TN_PG_UDP };

/* What to generate. Addresses are 16 bytes, IPv4 in the first four. */
struct tn_pktgen_spec {
	int family;              /* 4 or 6 */
	enum tn_pktgen_kind kind;
	__u8 src_mac[6];
	__u8 dst_mac[6];
	__u8 src[16];            /* first client; clients are src + 0 .. src + clients - 1 */
	__u8 dst[16];            /* the VIP */
	__u32 clients;           /* >= 1 */
	__u32 src_port;          /* first source port */
	__u32 ports;             /* distinct source ports, >= 1 */
	__u32 dst_port;
	__u32 size;              /* frame bytes without FCS */
	int vlan;                /* 802.1Q VLAN id, or -1 for untagged */
};

struct pktgen;

/* Bytes of Ethernet (+ VLAN) + IP + TCP/UDP headers for a spec. */
unsigned int tn_pktgen_header_len(const struct tn_pktgen_spec *spec);

/*
 * Check a spec (a sentence into err on failure), fill the skeleton's .rodata
 * (before pktgen__load) and write frame 0 into frame[0 .. spec->size).
 * Returns 0 or -EINVAL.
 */
int tn_pktgen_prepare(struct pktgen *skel, const struct tn_pktgen_spec *spec,
		      __u8 *frame, char *err, size_t errlen);

/* `tenace pktgen ...` (argv[0] = "pktgen"): the exit status. */
int tn_pktgen_main(int argc, char **argv);

#endif /* TENACE_PKTGEN_H */
