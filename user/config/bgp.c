/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The "bgp" object: model, copies, comparison and JSON emission. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/bgp.h"
#include "config/config.h"
#include "lib/jsonget.h"

/* in enum tn_bgp_announce order */
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

/* ---- parsing ------------------------------------------------------------------ */

/* A unicast address a BGP session can be opened with. */
static void parse_neighbor_address(struct tn_jctx *x, json_object *v, const char *path, struct tn_addr *a)
{
	char g[TN_JGOT_LEN];

	if (json_object_get_type(v) != json_type_string || tn_addr_parse(json_object_get_string(v), a)) {
		tn_jfail(x, path, "must be an IPv4 or IPv6 address, got %s", tn_jgot(v, g));
		a->family = 0;
		return;
	}
	if ((a->family == 4 && (a->bytes[0] == 0 || a->bytes[0] == 127 || a->bytes[0] >= 224)) ||
	    (a->family == 6 && (a->bytes[0] == 0xff || (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80) ||
				!memcmp(a->bytes, (uint8_t[16]){ 0 }, 15)))) {
		/* a link-local neighbor needs an interface BIRD is not told */
		tn_jfail(x, path, "must be a unicast address (not unspecified, loopback, link-local or multicast), "
			 "got %s", tn_jgot(v, g));
		a->family = 0;
	}
}

static void parse_neighbor(struct tn_jctx *x, json_object *o, const char *p, struct tn_bgp_cfg *b)
{
	static const char *const keys[] = { "address", "remoteAs", "port", NULL };
	struct tn_bgp_neighbor *nb = &b->neighbors[b->nneighbors];
	char q[TN_JPATH_LEN], g[TN_ADDR_TEXT];

	nb->port = TN_BGP_PORT_DEFAULT;
	if (!tn_jwant_object(x, o, p))
		return;
	tn_jcheck_keys(x, o, p, keys);
	if (!tn_jhas(o, "address"))
		tn_jfail(x, tn_jpath_key(q, p, "address"), "is required");
	else
		parse_neighbor_address(x, tn_jfield(o, "address"), tn_jpath_key(q, p, "address"), &nb->address);
	if (!tn_jhas(o, "remoteAs"))
		tn_jfail(x, tn_jpath_key(q, p, "remoteAs"), "is required");
	else
		tn_jwant_u32(x, tn_jfield(o, "remoteAs"), tn_jpath_key(q, p, "remoteAs"), 1, UINT32_MAX, &nb->remote_as);
	if (tn_jhas(o, "port"))
		tn_jwant_u16(x, tn_jfield(o, "port"), tn_jpath_key(q, p, "port"), 1, 65535, &nb->port);
	for (size_t j = 0; nb->address.family && j < b->nneighbors; j++) {
		if (tn_addr_equal(&b->neighbors[j].address, &nb->address)) {
			tn_addr_format(&nb->address, g, sizeof(g));
			tn_jfail(x, tn_jpath_key(q, p, "address"), "%s is already the address of bgp.neighbors[%zu]: "
				 "one session per neighbor", g, j);
			nb->address.family = 0;
		}
	}
}

static void parse_neighbors(struct tn_jctx *x, json_object *v, const char *path, struct tn_bgp_cfg *b)
{
	char p[TN_JPATH_LEN];
	size_t n;

	if (!tn_jwant_array(x, v, path))
		return;
	n = json_object_array_length(v);
	if (n < 1 || n > TN_BGP_NEIGHBORS_MAX) {
		tn_jfail(x, path, "must hold 1..%d neighbors, got %zu", TN_BGP_NEIGHBORS_MAX, n);
		return;
	}
	b->neighbors = calloc(n, sizeof(*b->neighbors));
	if (!b->neighbors) {
		tn_jfail(x, path, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++, b->nneighbors++)
		parse_neighbor(x, json_object_array_get_idx(v, i), tn_jpath_idx(p, path, i), b);
}

/* bird.socket / bird.include: an absolute path BIRD can quote, or null. */
static void parse_bird_path(struct tn_jctx *x, json_object *o, const char *parent, const char *key, char **dst)
{
	char p[TN_JPATH_LEN], g[TN_JGOT_LEN];
	json_object *v = tn_jfield(o, key);
	const char *s;

	tn_jpath_key(p, parent, key);
	if (!v || !tn_jwant_str(x, v, p, true, TN_BGP_PATH_MAX - 1, &s) || !s)
		return;
	if (s[0] != '/' || strpbrk(s, "\"\\\n\r")) {
		tn_jfail(x, p, "must be an absolute path without quotes, backslashes or line breaks, got %s",
			 tn_jgot(v, g));
		return;
	}
	if (!strcmp(key, "socket") && strlen(s) >= 108) {
		tn_jfail(x, p, "must be at most 107 characters (a Unix socket's path), got %zu", strlen(s));
		return;
	}
	tn_jset_str(x, p, dst, s);
}

/* Returns whether an operator's BIRD is meant (a socket or include given,
 * valid or not), so that its errors are not followed by our own BIRD's. */
static bool parse_bird(struct tn_jctx *x, json_object *o, const char *path, struct tn_bgp_cfg *b)
{
	static const char *const keys[] = { "socket", "include", NULL };
	json_object *v = tn_jfield(o, "bird");
	bool meant = false;
	char p[TN_JPATH_LEN];

	if (!v || json_object_get_type(v) == json_type_null || !tn_jwant_object(x, v, tn_jpath_key(p, path, "bird")))
		return false;
	for (const char *const *k = keys; *k; k++)
		meant |= tn_jfield(v, *k) && json_object_get_type(tn_jfield(v, *k)) != json_type_null;
	tn_jcheck_keys(x, v, p, keys);
	parse_bird_path(x, v, p, "socket", &b->bird_socket);
	parse_bird_path(x, v, p, "include", &b->bird_include);
	if (!b->bird_socket != !b->bird_include) {
		tn_jfail(x, p, "socket and include go together: both null (Tenace runs its own BIRD) or both set "
			 "(an operator's BIRD reads include and is reconfigured through socket)");
		free(b->bird_socket);
		free(b->bird_include);
		b->bird_socket = b->bird_include = NULL;
	}
	return meant;
}

/* The sessions and timers: Tenace's own BIRD only. */
static void parse_sessions(struct tn_jctx *x, json_object *o, const char *path, struct tn_bgp_cfg *b)
{
	json_object *v;
	char p[TN_JPATH_LEN], g[TN_JGOT_LEN];

	if (!tn_jhas(o, "localAs"))
		tn_jfail(x, tn_jpath_key(p, path, "localAs"), "is required (this node's AS number)");
	else
		tn_jwant_u32(x, tn_jfield(o, "localAs"), tn_jpath_key(p, path, "localAs"), 1, UINT32_MAX, &b->local_as);
	v = tn_jfield(o, "routerId");
	if (v && json_object_get_type(v) != json_type_null) {
		if (json_object_get_type(v) != json_type_string ||
		    tn_addr_parse(json_object_get_string(v), &b->router_id) || b->router_id.family != 4 ||
		    !memcmp(b->router_id.bytes, (uint8_t[4]){ 0 }, 4))
			tn_jfail(x, tn_jpath_key(p, path, "routerId"), "must be an IPv4 address other than 0.0.0.0 "
				 "(a BGP identifier is 32 bits) or null, got %s", tn_jgot(v, g));
		else
			b->has_router_id = true;
	}
	if (!tn_jhas(o, "neighbors"))
		tn_jfail(x, tn_jpath_key(p, path, "neighbors"), "is required (the routers this node announces its "
			 "VIPs to)");
	else
		parse_neighbors(x, tn_jfield(o, "neighbors"), tn_jpath_key(p, path, "neighbors"), b);
	if (tn_jhas(o, "holdTime"))
		tn_jwant_u16(x, tn_jfield(o, "holdTime"), tn_jpath_key(p, path, "holdTime"), 3, 65535, &b->hold_time);
	if (tn_jhas(o, "gracefulRestart"))
		tn_jwant_bool(x, tn_jfield(o, "gracefulRestart"), tn_jpath_key(p, path, "gracefulRestart"),
			      &b->graceful_restart);
}

static int parse_bgp(struct tn_jctx *x, json_object *o, const char *path, struct tn_bgp_cfg *out)
{
	static const char *const keys[] = { "localAs", "routerId", "neighbors", "holdTime", "announce",
					    "gracefulRestart", "bird", NULL };
	static const char *const own_only[] = { "localAs", "routerId", "neighbors", "holdTime", "gracefulRestart",
						NULL };
	struct tn_bgp_cfg b = { .hold_time = TN_BGP_HOLD_DEFAULT };
	unsigned before = x->failed;
	char p[TN_JPATH_LEN];
	int a;

	if (!tn_jwant_object(x, o, path))
		return -EINVAL;
	tn_jcheck_keys(x, o, path, keys);
	if (tn_jhas(o, "announce") &&
	    (a = tn_jwant_enum(x, tn_jfield(o, "announce"), tn_jpath_key(p, path, "announce"), announce_names,
			       false)) >= 0)
		b.announce = (enum tn_bgp_announce)a;
	if (!parse_bird(x, o, path, &b)) {
		parse_sessions(x, o, path, &b);
	} else if (tn_bgp_external(&b)) {
		for (const char *const *k = own_only; *k; k++)
			if (tn_jhas(o, *k))
				tn_jfail(x, tn_jpath_key(p, path, *k), "belongs to the operator's BIRD configuration "
					 "(bird.socket is set): remove it here");
	}
	if (x->failed != before) {
		tn_bgp_cfg_free(&b);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

int tn_bgp_cfg_from_json(json_object *o, const char *path, struct tn_bgp_cfg *out, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };

	return parse_bgp(&x, o, path, out);
}

/* ---- the hooks of a whole configuration -------------------------------------------- */

void tn_config_bgp_parse(struct tn_jctx *x, json_object *root, struct tn_config *c)
{
	json_object *v = tn_jfield(root, "bgp");
	struct tn_bgp_cfg b, *p;

	c->bgp = NULL;
	if (!v || json_object_get_type(v) == json_type_null || parse_bgp(x, v, "bgp", &b))
		return;
	if (!(p = malloc(sizeof(*p)))) {
		tn_bgp_cfg_free(&b);
		tn_jfail(x, "bgp", "out of memory");
		return;
	}
	*p = b;
	c->bgp = p;
}

void tn_config_bgp_to_json(json_object *o, const struct tn_config *c)
{
	if (c->bgp)
		json_object_object_add(o, "bgp", tn_bgp_cfg_to_json(c->bgp));
}

int tn_config_bgp_copy(struct tn_config *dst, const struct tn_config *src)
{
	dst->bgp = NULL;
	if (!src->bgp)
		return 0;
	dst->bgp = malloc(sizeof(*dst->bgp));
	if (!dst->bgp || tn_bgp_cfg_copy(dst->bgp, src->bgp)) {
		free(dst->bgp);
		dst->bgp = NULL;
		return -ENOMEM;
	}
	return 0;
}

void tn_config_bgp_free(struct tn_config *c)
{
	if (c->bgp) {
		tn_bgp_cfg_free(c->bgp);
		free(c->bgp);
	}
	c->bgp = NULL;
}

bool tn_config_bgp_equal(const struct tn_config *a, const struct tn_config *b)
{
	return tn_bgp_cfg_equal(a->bgp, b->bgp);
}
