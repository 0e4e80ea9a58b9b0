/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to user/dataplane/: rtnetlink through libmnl (as iproute2 and
 * nftables do). One request, its answers, its acknowledgement; and the facts
 * of one interface that the data plane needs (MAC, kind, veth peer, XDP).
 */
#ifndef TENACE_DATAPLANE_NL_H
#define TENACE_DATAPLANE_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <libmnl/libmnl.h>

/* A NETLINK_ROUTE socket whose receives time out after 2 s: NULL (errno set). */
struct mnl_socket *tn_nl_open(void);
void tn_nl_close(struct mnl_socket *nl);

/*
 * Send req (NLM_F_ACK and a sequence number are added) and call cb on each
 * message answering it, until the kernel's acknowledgement. 0, or -errno;
 * *from_kernel (may be NULL) is true when that error is the kernel's answer
 * to the request, false when sending or receiving failed (-ETIMEDOUT when no
 * answer came).
 */
int tn_nl_talk(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, bool *from_kernel);

/* What RTM_GETLINK says about one interface. */
struct tn_nl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;        /* IFF_* */
	uint8_t mac[6];
	int mac_len;               /* bytes of IFLA_ADDRESS (6 for Ethernet), 0 if none */
	char kind[16];             /* IFLA_INFO_KIND ("veth", ...), "" if none */
	int link;                  /* IFLA_LINK: a veth's peer ifindex, 0 if none */
	int link_netnsid;          /* namespace id of that peer, -1: this namespace */
	uint32_t xdp_drv_prog_id;  /* native XDP program, 0 if none */
	uint32_t xdp_skb_prog_id;  /* generic XDP program, 0 if none */
};

/* Interface ifindex of this namespace (netnsid < 0) or of the namespace with
 * that id (IFLA_TARGET_NETNSID). 0 or -errno. */
int tn_nl_link_get(struct mnl_socket *nl, int ifindex, int netnsid, struct tn_nl_link *out);

#endif /* TENACE_DATAPLANE_NL_H */
