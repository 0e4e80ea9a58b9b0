/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's side of tunnels (farms with forwarding ipip or gue): the
 * farm's settings as the data plane holds them, the node's encapSource set,
 * each server's next hop as the data plane's FIB lookup finds it (kept in
 * the table even when unresolved: the data plane counts those drops, status
 * names the reason, and a gateway's MAC missing for a moment must not move
 * every tracked client), and the path MTUs learnt from the fabric.
 *
 * Every FIB lookup and map read here leaves the process: they run without
 * the state lock (see internal.h), from what was copied under it.
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

/* Writer, no state lock: give the data plane every encapSource of the
 * applied configuration (the fabric's ICMP quotes one). */
void tn_ctl_encap_sources_sync(struct tn_ctl *ctl);

/* Writer, no state lock: the interfaces through which the tunnelling
 * servers of farms are reached (the data plane redirects there), asking
 * the kernel to resolve missing next hops when trigger. Fills out (at most
 * max, no duplicates); returns how many. */
size_t tn_ctl_encap_ports(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, bool trigger,
			  uint32_t *out, size_t max);

/* Writer, no state lock, from the tick and once a configuration is applied
 * (a farm's first write precedes it: the interface was not known yet): the
 * kernel resolves missing next hops of the applied tunnels; their
 * interfaces become redirect targets. */
void tn_ctl_encap_ports_sync(struct tn_ctl *ctl);

/* Status of tunnel servers: added under the state lock (what is needed is
 * copied), run after it is released: each server gets "nextHop" and
 * "pathMtu"; one whose next hop is unresolved gets "state" "unresolved" and
 * "lastError", and its farm's serversUp (and state) count it out. */
struct tn_ctl_encap_status {
	struct encap_status_job *v;
	size_t n, cap;
};
void tn_ctl_encap_status_add(struct tn_ctl_encap_status *es, const struct tn_config *c,
			     const struct tn_farm_cfg *f, const struct tn_server_cfg *s, bool usable,
			     json_object *farm, json_object *server);
void tn_ctl_encap_status_run(struct tn_ctl *ctl, struct tn_ctl_encap_status *es);

/* The production backend's tunnel calls (tn_dp, the FIB probe). */
void tn_ctl_backend_encap_dp(struct tn_ctl_backend *be);

#endif /* TENACE_CONTROL_ENCAP_H */
