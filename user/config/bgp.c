/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The "bgp" object: model, copies, comparison and JSON emission. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "config/bgp.h"

static const char *const announce_names[] = { "healthy", "always", NULL };

const char *tn_bgp_announce_name(enum tn_bgp_announce a)
{
	return a == TN_BGP_ANNOUNCE_ALWAYS ? announce_names[1] : announce_names[0];
}

void tn_bgp_cfg_free(struct tn_bgp_cfg *b)
{
	if (!b)
		return;
	free(b->neighbors);
	free(b->bird_socket);
	free(b->bird_include);
	memset(b, 0, sizeof(*b));
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int tn_bgp_cfg_copy(struct tn_bgp_cfg *dst, const struct tn_bgp_cfg *src)
{
	struct tn_bgp_cfg c = *src;

	c.neighbors = NULL;
	c.bird_socket = c.bird_include = NULL;
	if (src->nneighbors) {
		c.neighbors = malloc(src->nneighbors * sizeof(*c.neighbors));
		if (!c.neighbors)
			goto nomem;
		memcpy(c.neighbors, src->neighbors, src->nneighbors * sizeof(*c.neighbors));
	}
	if (dup_str(&c.bird_socket, src->bird_socket) || dup_str(&c.bird_include, src->bird_include))
		goto nomem;
	*dst = c;
	return 0;
nomem:
	tn_bgp_cfg_free(&c);
	return -ENOMEM;
}

static bool str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool tn_bgp_cfg_equal(const struct tn_bgp_cfg *a, const struct tn_bgp_cfg *b)
{
	if (!a || !b)
		return a == b;
	if (a->local_as != b->local_as || a->has_router_id != b->has_router_id ||
	    (a->has_router_id && !tn_addr_equal(&a->router_id, &b->router_id)) ||
	    a->nneighbors != b->nneighbors || a->hold_time != b->hold_time || a->announce != b->announce ||
	    a->graceful_restart != b->graceful_restart || !str_equal(a->bird_socket, b->bird_socket) ||
	    !str_equal(a->bird_include, b->bird_include))
		return false;
	for (size_t i = 0; i < a->nneighbors; i++) {
		const struct tn_bgp_neighbor *x = &a->neighbors[i], *y = &b->neighbors[i];

		if (!tn_addr_equal(&x->address, &y->address) || x->remote_as != y->remote_as || x->port != y->port)
			return false;
	}
	return true;
}

static json_object *addr_json(const struct tn_addr *a)
{
	char text[TN_ADDR_TEXT];

	tn_addr_format(a, text, sizeof(text));
	return json_object_new_string(text);
}

static json_object *str_json(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *tn_bgp_cfg_to_json(const struct tn_bgp_cfg *b)
{
	json_object *o = json_object_new_object(), *bird = json_object_new_object();

	/* with an operator's BIRD, sessions and timers are in its configuration */
	if (!tn_bgp_external(b)) {
		json_object *nv = json_object_new_array();

		json_object_object_add(o, "localAs", json_object_new_int64(b->local_as));
		json_object_object_add(o, "routerId", b->has_router_id ? addr_json(&b->router_id) : NULL);
		for (size_t i = 0; i < b->nneighbors; i++) {
			json_object *n = json_object_new_object();

			json_object_object_add(n, "address", addr_json(&b->neighbors[i].address));
			json_object_object_add(n, "remoteAs", json_object_new_int64(b->neighbors[i].remote_as));
			json_object_object_add(n, "port", json_object_new_int(b->neighbors[i].port));
			json_object_array_add(nv, n);
		}
		json_object_object_add(o, "neighbors", nv);
		json_object_object_add(o, "holdTime", json_object_new_int(b->hold_time));
		json_object_object_add(o, "gracefulRestart", json_object_new_boolean(b->graceful_restart));
	}
	json_object_object_add(o, "announce", json_object_new_string(tn_bgp_announce_name(b->announce)));
	json_object_object_add(bird, "socket", str_json(b->bird_socket));
	json_object_object_add(bird, "include", str_json(b->bird_include));
	json_object_object_add(o, "bird", bird);
	return o;
}
