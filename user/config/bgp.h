/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The "bgp" object of the configuration: how this node announces its VIP
 * addresses to the routers (through BIRD 2). Absent: no BGP.
 *
 *   "bgp": { "localAs": 65010, "routerId": "10.77.0.11",
 *            "neighbors": [{"address": "10.77.0.1", "remoteAs": 65000, "port": 179}],
 *            "holdTime": 3, "announce": "healthy", "gracefulRestart": false,
 *            "bird": {"socket": null, "include": null} }
 *
 * bird.socket and bird.include null: Tenace runs its own BIRD with a
 * configuration it writes from this object. Both set: Tenace drives the
 * operator's BIRD (writes the include file with the routes, then
 * `configure` over that socket); localAs, neighbors and the timers are then
 * the operator's BIRD's business and must be absent.
 */
#ifndef TENACE_CONFIG_BGP_H
#define TENACE_CONFIG_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "lib/net.h"

#define TN_BGP_HOLD_DEFAULT 9     /* seconds; keepalive = holdTime / 3 */
#define TN_BGP_PORT_DEFAULT 179
#define TN_BGP_NEIGHBORS_MAX 64
#define TN_BGP_PATH_MAX 1024

enum tn_bgp_announce {
	TN_BGP_ANNOUNCE_HEALTHY = 0, /* while a frontend on the address has a server up */
	TN_BGP_ANNOUNCE_ALWAYS,      /* every address of an enabled frontend */
};

struct tn_bgp_neighbor {
	struct tn_addr address;
	uint32_t remote_as;
	uint16_t port;
};

struct tn_bgp_cfg {
	uint32_t local_as;           /* 0 only with an operator's BIRD */
	bool has_router_id;          /* false: BIRD picks one of the node's addresses */
	struct tn_addr router_id;    /* IPv4 */
	struct tn_bgp_neighbor *neighbors;
	size_t nneighbors;
	uint16_t hold_time;          /* 3..65535 */
	enum tn_bgp_announce announce;
	bool graceful_restart;       /* advertise graceful restart (default off) */
	char *bird_socket;           /* NULL: Tenace's own BIRD */
	char *bird_include;
};

static inline bool tn_bgp_external(const struct tn_bgp_cfg *b)
{
	return b->bird_socket != NULL;
}

const char *tn_bgp_announce_name(enum tn_bgp_announce a); /* "healthy" / "always" */

/* One "bgp" object at path (usually "bgp"): 0, or -EINVAL with every error
 * appended to errs (out untouched). Free the result with tn_bgp_cfg_free. */
struct tn_errors;
int tn_bgp_cfg_from_json(json_object *o, const char *path, struct tn_bgp_cfg *out, struct tn_errors *errs);
json_object *tn_bgp_cfg_to_json(const struct tn_bgp_cfg *b);
int tn_bgp_cfg_copy(struct tn_bgp_cfg *dst, const struct tn_bgp_cfg *src);
void tn_bgp_cfg_free(struct tn_bgp_cfg *b);
bool tn_bgp_cfg_equal(const struct tn_bgp_cfg *a, const struct tn_bgp_cfg *b);

/* The "bgp" member of a whole configuration (the document's hooks): the
 * parse reports through x (c->bgp left NULL when absent or wrong). */
struct tn_config;
struct tn_jctx;
void tn_config_bgp_parse(struct tn_jctx *x, json_object *root, struct tn_config *c);
void tn_config_bgp_to_json(json_object *o, const struct tn_config *c);
int tn_config_bgp_copy(struct tn_config *dst, const struct tn_config *src);
void tn_config_bgp_free(struct tn_config *c);
bool tn_config_bgp_equal(const struct tn_config *a, const struct tn_config *b);

#endif /* TENACE_CONFIG_BGP_H */
