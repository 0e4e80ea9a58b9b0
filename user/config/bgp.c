/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The "bgp" object: model, copies, comparison and JSON emission. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/bgp.h"
#include "config/config.h"

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

/* Counts what it reports, so the caller knows the object failed even when
 * errs is NULL or could not grow. */
struct bctx {
	struct tn_errors *errs;
	unsigned failed;
};

__attribute__((format(printf, 3, 4)))
static void bfail(struct bctx *x, const char *path, const char *fmt, ...)
{
	char msg[TN_ERROR_MESSAGE_MAX];
	va_list ap;

	x->failed++;
	if (!x->errs)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tn_errors_add(x->errs, path, "%s", msg);
}

/* The value as written, short enough for a message. */
static const char *shown(json_object *v, char *buf, size_t len)
{
	const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (strlen(s) < len)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%.*s...", (int)len - 4, s);
	return buf;
}

static const char *at(char *buf, const char *parent, const char *key)
{
	snprintf(buf, 160, "%s.%s", parent, key);
	return buf;
}

static bool want_uint(struct bctx *x, json_object *v, const char *path, uint32_t min, uint32_t max, uint32_t *out)
{
	char g[64];
	int64_t i;

	if (json_object_get_type(v) != json_type_int) {
		bfail(x, path, "must be an integer %u..%u, got %s", min, max, shown(v, g, sizeof(g)));
		return false;
	}
	i = json_object_get_int64(v);
	if (i < min || i > max || json_object_get_uint64(v) == UINT64_MAX) {
		bfail(x, path, "must be %u..%u, got %s", min, max, shown(v, g, sizeof(g)));
		return false;
	}
	*out = (uint32_t)i;
	return true;
}

static void check_keys(struct bctx *x, json_object *o, const char *path, const char *const *keys)
{
	char p[160];

	json_object_object_foreach(o, name, val) {
		const char *const *k;

		(void)val;
		for (k = keys; *k && strcmp(*k, name); k++)
			;
		if (!*k)
			bfail(x, at(p, path, name), "unknown field");
	}
}

static bool want_object(struct bctx *x, json_object *v, const char *path)
{
	char g[64];

	if (json_object_get_type(v) == json_type_object)
		return true;
	bfail(x, path, "must be an object, got %s", shown(v, g, sizeof(g)));
	return false;
}

/* A unicast address a BGP session can be opened with. */
static void parse_neighbor_address(struct bctx *x, json_object *v, const char *path, struct tn_addr *a)
{
	char g[64];

	if (json_object_get_type(v) != json_type_string || tn_addr_parse(json_object_get_string(v), a)) {
		bfail(x, path, "must be an IPv4 or IPv6 address, got %s", shown(v, g, sizeof(g)));
		return;
	}
	if ((a->family == 4 && (a->bytes[0] == 0 || a->bytes[0] == 127 || a->bytes[0] >= 224)) ||
	    (a->family == 6 && (a->bytes[0] == 0xff || (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80) ||
				!memcmp(a->bytes, (uint8_t[16]){ 0 }, 15)))) {
		/* link-local IPv6 needs an interface BIRD is not told: refused with the rest */
		bfail(x, path, "must be a unicast address (not unspecified, loopback, link-local or multicast), got %s",
		      shown(v, g, sizeof(g)));
		a->family = 0;
	}
}

static void parse_neighbors(struct bctx *x, json_object *v, const char *path, struct tn_bgp_cfg *b)
{
	static const char *const keys[] = { "address", "remoteAs", "port", NULL };
	char p[160], q[160], g[64];
	size_t n;

	if (json_object_get_type(v) != json_type_array) {
		bfail(x, path, "must be an array of neighbors, got %s", shown(v, g, sizeof(g)));
		return;
	}
	n = json_object_array_length(v);
	if (n < 1 || n > TN_BGP_NEIGHBORS_MAX) {
		bfail(x, path, "must hold 1..%d neighbors, got %zu", TN_BGP_NEIGHBORS_MAX, n);
		return;
	}
	b->neighbors = calloc(n, sizeof(*b->neighbors));
	if (!b->neighbors) {
		bfail(x, path, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(v, i), *f;
		struct tn_bgp_neighbor *nb = &b->neighbors[b->nneighbors];
		uint32_t port = TN_BGP_PORT_DEFAULT;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!want_object(x, o, p))
			continue;
		check_keys(x, o, p, keys);
		if (!json_object_object_get_ex(o, "address", &f))
			bfail(x, at(q, p, "address"), "is required");
		else
			parse_neighbor_address(x, f, at(q, p, "address"), &nb->address);
		if (!json_object_object_get_ex(o, "remoteAs", &f))
			bfail(x, at(q, p, "remoteAs"), "is required");
		else
			want_uint(x, f, at(q, p, "remoteAs"), 1, UINT32_MAX, &nb->remote_as);
		if (json_object_object_get_ex(o, "port", &f))
			want_uint(x, f, at(q, p, "port"), 1, 65535, &port);
		nb->port = (uint16_t)port;
		for (size_t j = 0; nb->address.family && j < b->nneighbors; j++) {
			if (tn_addr_equal(&b->neighbors[j].address, &nb->address)) {
				tn_addr_format(&nb->address, g, sizeof(g));
				bfail(x, at(q, p, "address"), "%s is already the address of %s[%zu]: one session "
				      "per neighbor", g, path, j);
				nb->address.family = 0;
			}
		}
		b->nneighbors++;
	}
}

/* bird.socket / bird.include: an absolute path BIRD can quote, or null. */
static void parse_bird_path(struct bctx *x, json_object *o, const char *parent, const char *key, char **dst)
{
	char p[160], g[64];
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || json_object_get_type(v) == json_type_null)
		return;
	at(p, parent, key);
	if (json_object_get_type(v) != json_type_string) {
		bfail(x, p, "must be a path or null, got %s", shown(v, g, sizeof(g)));
		return;
	}
	s = json_object_get_string(v);
	if (s[0] != '/' || strlen(s) >= TN_BGP_PATH_MAX || strpbrk(s, "\"\\\n\r") ||
	    strlen(s) != (size_t)json_object_get_string_len(v)) {
		bfail(x, p, "must be an absolute path of at most %d characters without quotes, backslashes or "
		      "line breaks, got %s", TN_BGP_PATH_MAX - 1, shown(v, g, sizeof(g)));
		return;
	}
	if (!strcmp(key, "socket") && strlen(s) >= 108) {
		bfail(x, p, "must be at most 107 characters (a Unix socket's path), got %zu", strlen(s));
		return;
	}
	if (!(*dst = strdup(s)))
		bfail(x, p, "out of memory");
}

/* Returns whether an operator's BIRD is meant (a socket or include given,
 * valid or not), so that its errors are not followed by our own BIRD's. */
static bool parse_bird(struct bctx *x, json_object *o, const char *path, struct tn_bgp_cfg *b)
{
	static const char *const keys[] = { "socket", "include", NULL };
	json_object *v, *f;
	bool meant = false;
	char p[160];

	if (!json_object_object_get_ex(o, "bird", &v) || json_object_get_type(v) == json_type_null)
		return false;
	at(p, path, "bird");
	if (!want_object(x, v, p))
		return false;
	for (const char *const *k = keys; *k; k++)
		meant |= json_object_object_get_ex(v, *k, &f) && json_object_get_type(f) != json_type_null;
	check_keys(x, v, p, keys);
	parse_bird_path(x, v, p, "socket", &b->bird_socket);
	parse_bird_path(x, v, p, "include", &b->bird_include);
	if (!b->bird_socket != !b->bird_include) {
		bfail(x, p, "socket and include go together: both null (Tenace runs its own BIRD) or both set "
		      "(an operator's BIRD reads include and is reconfigured through socket)");
		free(b->bird_socket);
		free(b->bird_include);
		b->bird_socket = b->bird_include = NULL;
	}
	return meant;
}

/* The sessions and timers: Tenace's own BIRD only. */
static void parse_sessions(struct bctx *x, json_object *o, const char *path, struct tn_bgp_cfg *b)
{
	json_object *v;
	char p[160], g[64];
	uint32_t hold;

	if (!json_object_object_get_ex(o, "localAs", &v))
		bfail(x, at(p, path, "localAs"), "is required (this node's AS number)");
	else
		want_uint(x, v, at(p, path, "localAs"), 1, UINT32_MAX, &b->local_as);
	if (json_object_object_get_ex(o, "routerId", &v) && json_object_get_type(v) != json_type_null) {
		if (json_object_get_type(v) != json_type_string ||
		    tn_addr_parse(json_object_get_string(v), &b->router_id) || b->router_id.family != 4 ||
		    !memcmp(b->router_id.bytes, (uint8_t[4]){ 0 }, 4))
			bfail(x, at(p, path, "routerId"), "must be an IPv4 address other than 0.0.0.0 (a BGP "
			      "identifier is 32 bits) or null, got %s", shown(v, g, sizeof(g)));
		else
			b->has_router_id = true;
	}
	if (!json_object_object_get_ex(o, "neighbors", &v))
		bfail(x, at(p, path, "neighbors"), "is required (the routers this node announces its VIPs to)");
	else
		parse_neighbors(x, v, at(p, path, "neighbors"), b);
	if (json_object_object_get_ex(o, "holdTime", &v) &&
	    want_uint(x, v, at(p, path, "holdTime"), 3, 65535, &hold))
		b->hold_time = (uint16_t)hold;
	if (json_object_object_get_ex(o, "gracefulRestart", &v)) {
		if (json_object_get_type(v) != json_type_boolean)
			bfail(x, at(p, path, "gracefulRestart"), "must be true or false, got %s", shown(v, g, sizeof(g)));
		else
			b->graceful_restart = json_object_get_boolean(v);
	}
}

int tn_bgp_cfg_from_json(json_object *o, const char *path, struct tn_bgp_cfg *out, struct tn_errors *errs)
{
	static const char *const keys[] = { "localAs", "routerId", "neighbors", "holdTime", "announce",
					    "gracefulRestart", "bird", NULL };
	static const char *const own_only[] = { "localAs", "routerId", "neighbors", "holdTime", "gracefulRestart",
						NULL };
	struct bctx ctx = { errs, 0 }, *x = &ctx;
	struct tn_bgp_cfg b = { .hold_time = TN_BGP_HOLD_DEFAULT };
	json_object *v;
	char p[160], g[64];

	if (!want_object(x, o, path))
		return -EINVAL;
	check_keys(x, o, path, keys);
	if (json_object_object_get_ex(o, "announce", &v)) {
		if (json_object_get_type(v) == json_type_string && !strcmp(json_object_get_string(v), "always"))
			b.announce = TN_BGP_ANNOUNCE_ALWAYS;
		else if (json_object_get_type(v) != json_type_string || strcmp(json_object_get_string(v), "healthy"))
			bfail(x, at(p, path, "announce"), "must be one of \"healthy\", \"always\", got %s",
			      shown(v, g, sizeof(g)));
	}
	if (!parse_bird(x, o, path, &b)) {
		parse_sessions(x, o, path, &b);
	} else if (tn_bgp_external(&b)) {
		for (const char *const *k = own_only; *k; k++)
			if (json_object_object_get_ex(o, *k, NULL))
				bfail(x, at(p, path, *k), "belongs to the operator's BIRD configuration (bird.socket "
				      "is set): remove it here");
	}
	if (x->failed) {
		tn_bgp_cfg_free(&b);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

/* ---- the hooks of a whole configuration -------------------------------------------- */

unsigned tn_config_bgp_parse(json_object *root, struct tn_config *c, struct tn_errors *errs)
{
	size_t before = errs ? errs->n : 0;
	struct tn_bgp_cfg b, *p;
	json_object *v;

	c->bgp = NULL;
	if (!json_object_object_get_ex(root, "bgp", &v) || json_object_get_type(v) == json_type_null)
		return 0;
	if (tn_bgp_cfg_from_json(v, "bgp", &b, errs)) {
		size_t n = errs ? errs->n - before : 0;

		return n ? (unsigned)n : 1;
	}
	if (!(p = malloc(sizeof(*p)))) {
		tn_bgp_cfg_free(&b);
		if (errs)
			tn_errors_add(errs, "bgp", "out of memory");
		return 1;
	}
	*p = b;
	c->bgp = p;
	return 0;
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
