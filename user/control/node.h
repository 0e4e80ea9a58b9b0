/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * This node in a fleet: its drain state and the BGP speaker that announces
 * its VIP addresses. The speaker's decider reads the controller (applied
 * configuration, server health) whenever the controller says something
 * changed (tn_node_kick) and once a second; nothing is announced before
 * tn_node_set_ready (the data plane serves the applied configuration) nor
 * while drained. The drain survives a restart: it is a file in the state
 * directory.
 */
#ifndef TENACE_CONTROL_NODE_H
#define TENACE_CONTROL_NODE_H

#include <stdbool.h>
#include <json-c/json.h>
#include "config/bgp.h"
#include "lib/buf.h"

struct tn_ctl;
struct tn_node;

#define TN_DRAIN_FILE "drained"

/* state_dir: the drain mark and Tenace's own BIRD's files. Made before the
 * data plane loads, so that BIRD's sessions come up meanwhile. 0 or -errno
 * (logged). */
int tn_node_new(struct tn_node **out, const char *state_dir);
/* The controller, once it exists: it shows the node and kicks it. */
void tn_node_attach(struct tn_node *n, struct tn_ctl *ctl);
/* The data plane serves the applied configuration: announcing may begin. */
void tn_node_set_ready(struct tn_node *n);
/* The applied configuration's bgp object (NULL: none), at start and after
 * each change of it. 0 or -ENOMEM. */
int tn_node_configure(struct tn_node *n, const struct tn_bgp_cfg *bgp);
/* tenace node drain / resume, at once; then the mark for a restart: 0, or
 * -errno with a sentence in err (the state changed, its mark did not). */
int tn_node_set_drained(struct tn_node *n, bool drained, char *err, size_t errlen);
bool tn_node_drained(struct tn_node *n);
/* What the decision depends on changed (health, the applied configuration):
 * decide again now. Never blocks; any lock may be held. NULL: nothing. */
void tn_node_kick(struct tn_node *n);
/* SIGTERM: withdraw every route (the data plane keeps forwarding what still
 * arrives), stop our BIRD, detach from the controller, free n. */
void tn_node_shutdown(struct tn_node *n);

/* {"drained", "drainedSince", "ready", "bgp": {...} or null} */
json_object *tn_node_status_json(struct tn_node *n);
void tn_node_metrics(struct tn_node *n, struct tn_buf *out);

#endif /* TENACE_CONTROL_NODE_H */
