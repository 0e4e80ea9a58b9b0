/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's side of tunnels (farms with forwarding ipip or gue): the
 * farm's settings as the data plane holds them, the node's encapSource set,
 * each server's next hop as the data plane's FIB lookup finds it (kept in
 * the table even when unresolved: the data plane counts those drops, status
 * names the reason, and a gateway's MAC missing for a moment must not move
 * every tracked client), and the path MTUs learnt from the fabric.
 */
#ifndef TENACE_CONTROL_ENCAP_H
#define TENACE_CONTROL_ENCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "config/config.h"
#include "control/controller.h"
#include "dataplane/fib.h"

static inline bool tn_ctl_tunnels(const struct tn_farm_cfg *f)
{
	return f->encap.forwarding != TN_FORWARD_DSR;
}

/* The farm's forwarding as the data plane's farm header holds it. */
void tn_ctl_encap_abi(const struct tn_farm_cfg *f, struct tn_encap *out);

/* Give the data plane every encapSource of c (the fabric's ICMP quotes one). */
void tn_ctl_encap_sources_sync(const struct tn_ctl_backend *be, const struct tn_config *c);

/* Server s of tunnelling farm f: its next hop through the first interface
 * of c. Returns true when resolved; false with err filled ("next hop
 * 10.0.0.1: the next hop's MAC is not resolved"), after asking the kernel to
 * resolve it when trigger. nh may be NULL. */
bool tn_ctl_encap_nexthop(const struct tn_ctl_backend *be, const struct tn_config *c, const struct tn_farm_cfg *f,
			  const struct tn_server_cfg *s, bool trigger, struct tn_nexthop *nh, char *err, size_t errlen);

/* Status of server s of tunnelling farm f: adds "nextHop" and "pathMtu" to
 * o and, when the next hop is unresolved, sets "state" and "lastError" and
 * clears *usable. */
void tn_ctl_encap_server_status(const struct tn_ctl_backend *be, const struct tn_config *c,
				const struct tn_farm_cfg *f, const struct tn_server_cfg *s, json_object *o,
				bool *usable);

/* The production backend's tunnel calls (tn_dp, the FIB probe). */
void tn_ctl_backend_encap_dp(struct tn_ctl_backend *be);

#endif /* TENACE_CONTROL_ENCAP_H */
