/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tunnels' state in the data plane besides the farms: the node's
 * encapSource addresses (the fabric's ICMP about a tunnel quotes one) and
 * the path MTUs the fabric reported toward servers.
 */
#ifndef TENACE_DATAPLANE_ENCAP_H
#define TENACE_DATAPLANE_ENCAP_H

#include <stddef.h>
#include <stdint.h>
#include "dataplane/dataplane.h"
#include "lib/net.h"

/* Replace the set of encapSource addresses (new ones first, then stale ones
 * removed): 0 or -errno (logged). */
int tn_dp_encap_sources_set(struct tn_dp *dp, const struct tn_addr *addrs, size_t n);

struct tn_dp_pmtu {
	struct tn_addr server;
	uint16_t mtu;
	uint32_t expires_in_s;  /* seconds left */
};

/* The live learned MTUs (expired ones left out): a malloc'd array in *out
 * (free it), its length in *n. 0 or -ENOMEM. */
int tn_dp_pmtu_dump(struct tn_dp *dp, struct tn_dp_pmtu **out, size_t *n);

/* Forget every learned MTU (tests, and `unload --all` through the pins). */
int tn_dp_pmtu_clear(struct tn_dp *dp);

#endif /* TENACE_DATAPLANE_ENCAP_H */
