/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a server is on the link: the route lookup (RTM_GETROUTE) gives the
 * outgoing interface and its MAC, the kernel's neighbour table
 * (RTM_GETNEIGH) gives the server's MAC. When the neighbour is unknown the
 * kernel is made to resolve it (one UDP datagram to the discard port) and
 * the caller asks again later.
 */
#ifndef TENACE_NEIGH_H
#define TENACE_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/net.h"

struct tn_neigh_info {
	uint32_t ifindex;     /* interface the frame leaves by */
	uint8_t src_mac[6];   /* that interface's MAC */
	uint8_t mac[6];       /* the server's MAC */
};

/*
 * Route + neighbour lookup. With have_mac, only the route part is done and
 * out->mac is left as is. Returns 0; -EAGAIN when the neighbour is not known
 * yet (resolution was triggered when `trigger`); another -errno otherwise.
 * err gets a sentence on failure ("no route to 10.0.0.9", ...).
 */
int tn_neigh_resolve(const struct tn_addr *a, bool have_mac, bool trigger,
		     struct tn_neigh_info *out, char *err, size_t errlen);

/* MAC of an interface: 0 or -errno. */
int tn_iface_mac(uint32_t ifindex, uint8_t mac[6]);

#endif /* TENACE_NEIGH_H */
