// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration model: defaults, frees, deep copies, equality, lookups
 * and appending, and the names of its enumerations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* ---- names of enumerations ------------------------------------------------ */

const char *const tn_cfg_l4_names[] = { [TN_L4_TCP] = "tcp", [TN_L4_UDP] = "udp", NULL };
const char *const tn_cfg_balance_names[] = {
	[TN_BAL_SOURCE] = "source", [TN_BAL_ROUNDROBIN] = "roundrobin", [TN_BAL_FIRST] = "first", NULL
};
const char *const tn_cfg_probe_names[] = {
	[TN_PROBE_TCP - 1] = "tcp", [TN_PROBE_HTTP - 1] = "http", [TN_PROBE_SMTP - 1] = "smtp",
	[TN_PROBE_MYSQL - 1] = "mysql", [TN_PROBE_PGSQL - 1] = "pgsql", NULL
};
const char *const tn_cfg_match_names[] = {
	[TN_MATCH_DEFAULT] = "default", [TN_MATCH_STATUS] = "status",
	[TN_MATCH_CONTAINS] = "contains", [TN_MATCH_MATCHES] = "matches", NULL
};
const char *const tn_cfg_method_names[] = { "GET", "HEAD", "OPTIONS", NULL };

const char *tn_l4_type_name(enum tn_l4_type t)
{
	return t == TN_L4_UDP ? "udp" : "tcp";
}

uint16_t tn_server_port(const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	return s->port ? s->port : f->port;
}

/* ---- defaults and frees ----------------------------------------------------- */

int tn_config_init(struct tn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->zone = strdup("default");
	if (!c->zone)
		return -ENOMEM;
	c->table_size = TN_TABLE_SIZE_DEFAULT;
	c->ct_size = TN_CT_SIZE_DEFAULT;
	c->tcp_timeout_s = TN_TCP_TIMEOUT_DEFAULT;
	c->udp_timeout_s = TN_UDP_TIMEOUT_DEFAULT;
	c->udp_admit_rate = TN_UDP_ADMIT_RATE_DEFAULT;
	c->tcp_admit_rate = TN_TCP_ADMIT_RATE_DEFAULT;
	return 0;
}

void tn_server_free(struct tn_server_cfg *s)
{
	if (!s)
		return;
	free(s->display_name);
	memset(s, 0, sizeof(*s));
}

void tn_farm_free(struct tn_farm_cfg *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nservers; i++)
		tn_server_free(&f->servers[i]);
	free(f->servers);
	free(f->display_name);
	free(f->zone);
	tn_cfg_probe_free(&f->probe);
	memset(f, 0, sizeof(*f));
}

void tn_frontend_free(struct tn_frontend_cfg *f)
{
	if (!f)
		return;
	free(f->display_name);
	free(f->vips);
	free(f->port);
	free(f->ports);
	free(f->zone);
	free(f->allowed_source);
	free(f->denied_source);
	memset(f, 0, sizeof(*f));
}

void tn_config_free(struct tn_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->zone);
	for (i = 0; i < c->ninterfaces; i++)
		free(c->interfaces[i]);
	free(c->interfaces);
	for (i = 0; i < c->nfarms; i++)
		tn_farm_free(&c->farms[i]);
	free(c->farms);
	for (i = 0; i < c->nfrontends; i++)
		tn_frontend_free(&c->frontends[i]);
	free(c->frontends);
	tn_config_bgp_free(c);
	memset(c, 0, sizeof(*c));
}

/* ---- copies ----------------------------------------------------------------------- */

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int dup_mem(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int tn_server_copy(struct tn_server_cfg *dst, const struct tn_server_cfg *src)
{
	struct tn_server_cfg s = *src;

	if (dup_str(&s.display_name, src->display_name))
		return -ENOMEM;
	*dst = s;
	return 0;
}

int tn_farm_copy(struct tn_farm_cfg *dst, const struct tn_farm_cfg *src)
{
	struct tn_farm_cfg f = *src;
	size_t i;

	/* NULL everything first so that tn_farm_free can undo a partial copy */
	f.display_name = f.zone = f.probe.url = f.probe.pattern = NULL;
	f.servers = NULL;
	f.nservers = 0;
	if (dup_str(&f.display_name, src->display_name) || dup_str(&f.zone, src->zone) ||
	    dup_str(&f.probe.url, src->probe.url) || dup_str(&f.probe.pattern, src->probe.pattern))
		goto nomem;
	if (src->nservers) {
		f.servers = calloc(src->nservers, sizeof(*f.servers));
		if (!f.servers)
			goto nomem;
	}
	for (i = 0; i < src->nservers; i++, f.nservers++)
		if (tn_server_copy(&f.servers[i], &src->servers[i]))
			goto nomem;
	*dst = f;
	return 0;
nomem:
	tn_farm_free(&f);
	return -ENOMEM;
}

int tn_frontend_copy(struct tn_frontend_cfg *dst, const struct tn_frontend_cfg *src)
{
	struct tn_frontend_cfg f = *src;

	f.display_name = f.port = f.zone = NULL;
	f.vips = NULL;
	f.ports = NULL;
	f.allowed_source = f.denied_source = NULL;
	if (dup_str(&f.display_name, src->display_name) || dup_str(&f.port, src->port) ||
	    dup_str(&f.zone, src->zone) ||
	    dup_mem((void **)&f.vips, src->vips, src->nvips, sizeof(*f.vips)) ||
	    dup_mem((void **)&f.ports, src->ports, src->nports, sizeof(*f.ports)) ||
	    dup_mem((void **)&f.allowed_source, src->allowed_source, src->nallowed,
		    sizeof(*f.allowed_source)) ||
	    dup_mem((void **)&f.denied_source, src->denied_source, src->ndenied,
		    sizeof(*f.denied_source))) {
		tn_frontend_free(&f);
		return -ENOMEM;
	}
	*dst = f;
	return 0;
}

int tn_config_copy(struct tn_config *dst, const struct tn_config *src)
{
	struct tn_config c = *src;
	size_t i;

	c.zone = NULL;
	c.interfaces = NULL;
	c.farms = NULL;
	c.frontends = NULL;
	c.bgp = NULL;
	c.ninterfaces = c.nfarms = c.nfrontends = 0;
	if (dup_str(&c.zone, src->zone))
		goto nomem;
	if (src->ninterfaces && !(c.interfaces = calloc(src->ninterfaces, sizeof(char *))))
		goto nomem;
	for (i = 0; i < src->ninterfaces; i++, c.ninterfaces++)
		if (dup_str(&c.interfaces[i], src->interfaces[i]))
			goto nomem;
	if (src->nfarms && !(c.farms = calloc(src->nfarms, sizeof(*c.farms))))
		goto nomem;
	for (i = 0; i < src->nfarms; i++, c.nfarms++)
		if (tn_farm_copy(&c.farms[i], &src->farms[i]))
			goto nomem;
	if (src->nfrontends && !(c.frontends = calloc(src->nfrontends, sizeof(*c.frontends))))
		goto nomem;
	for (i = 0; i < src->nfrontends; i++, c.nfrontends++)
		if (tn_frontend_copy(&c.frontends[i], &src->frontends[i]))
			goto nomem;
	if (tn_config_bgp_copy(&c, src))
		goto nomem;
	*dst = c;
	return 0;
nomem:
	tn_config_free(&c);
	return -ENOMEM;
}

/* ---- equality ---------------------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* NULL and "" both mean the default, as the probe engine reads them. */
static const char *str_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static bool addr_eq(const struct tn_addr *a, const struct tn_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static bool cidrs_eq(const struct tn_cidr *a, const struct tn_cidr *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].prefixlen != b[i].prefixlen || !addr_eq(&a[i].addr, &b[i].addr))
			return false;
	return true;
}

bool tn_probe_cfg_equal(const struct tn_probe_cfg *a, const struct tn_probe_cfg *b)
{
	char ma[sizeof(a->method) + 1] = "", mb[sizeof(b->method) + 1] = "";

	if (a->type != b->type || a->port != b->port || a->interval_s != b->interval_s ||
	    a->timeout_s != b->timeout_s || a->rise != b->rise || a->fall != b->fall)
		return false;
	if (a->type != TN_PROBE_HTTP)
		return true; /* the HTTP fields mean nothing to other probes (and are not saved) */
	memcpy(ma, a->method, sizeof(a->method));
	memcpy(mb, b->method, sizeof(b->method));
	return !strcmp(str_or(ma, "GET"), str_or(mb, "GET")) &&
	       !strcmp(str_or(a->url, "/"), str_or(b->url, "/")) &&
	       a->force_ssl == b->force_ssl && a->match == b->match &&
	       !strcmp(str_or(a->pattern, ""), str_or(b->pattern, "")) && a->negate == b->negate;
}

bool tn_server_equal(const struct tn_server_cfg *a, const struct tn_server_cfg *b)
{
	return a->server_id == b->server_id && str_eq(a->display_name, b->display_name) &&
	       addr_eq(&a->address, &b->address) && a->port == b->port &&
	       a->weight == b->weight && a->active == b->active && a->backup == b->backup &&
	       a->probe == b->probe && a->has_mac == b->has_mac &&
	       (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac)));
}

bool tn_farm_equal(const struct tn_farm_cfg *a, const struct tn_farm_cfg *b)
{
	size_t i;

	if (a->farm_id != b->farm_id || a->type != b->type ||
	    !str_eq(a->display_name, b->display_name) || a->port != b->port ||
	    a->balance != b->balance || a->stickiness != b->stickiness ||
	    !str_eq(a->zone, b->zone) || !tn_probe_cfg_equal(&a->probe, &b->probe) ||
	    !tn_encap_cfg_equal(&a->encap, &b->encap) || a->nservers != b->nservers)
		return false;
	for (i = 0; i < a->nservers; i++)
		if (!tn_server_equal(&a->servers[i], &b->servers[i]))
			return false;
	return true;
}

bool tn_frontend_equal(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i;

	if (a->frontend_id != b->frontend_id || a->type != b->type ||
	    !str_eq(a->display_name, b->display_name) || a->nvips != b->nvips ||
	    !str_eq(a->port, b->port) || a->nports != b->nports ||
	    a->default_farm_id != b->default_farm_id || !str_eq(a->zone, b->zone) ||
	    a->nallowed != b->nallowed || a->ndenied != b->ndenied || a->disabled != b->disabled)
		return false;
	for (i = 0; i < a->nvips; i++)
		if (!addr_eq(&a->vips[i], &b->vips[i]))
			return false;
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].first != b->ports[i].first || a->ports[i].last != b->ports[i].last)
			return false;
	return cidrs_eq(a->allowed_source, b->allowed_source, a->nallowed) &&
	       cidrs_eq(a->denied_source, b->denied_source, a->ndenied);
}

bool tn_config_equal(const struct tn_config *a, const struct tn_config *b)
{
	size_t i;

	if (!str_eq(a->zone, b->zone) || a->ninterfaces != b->ninterfaces ||
	    a->hash_seed != b->hash_seed || a->table_size != b->table_size ||
	    a->ct_size != b->ct_size || a->tcp_timeout_s != b->tcp_timeout_s ||
	    a->udp_timeout_s != b->udp_timeout_s || a->udp_admit_rate != b->udp_admit_rate ||
	    a->tcp_admit_rate != b->tcp_admit_rate || a->nfarms != b->nfarms ||
	    a->nfrontends != b->nfrontends || !tn_config_bgp_equal(a, b))
		return false;
	for (i = 0; i < a->ninterfaces; i++)
		if (!str_eq(a->interfaces[i], b->interfaces[i]))
			return false;
	for (i = 0; i < a->nfarms; i++)
		if (!tn_farm_equal(&a->farms[i], &b->farms[i]))
			return false;
	for (i = 0; i < a->nfrontends; i++)
		if (!tn_frontend_equal(&a->frontends[i], &b->frontends[i]))
			return false;
	return true;
}

/* ---- lookups ------------------------------------------------------------------------- */

struct tn_farm_cfg *tn_config_farm(const struct tn_config *c, enum tn_l4_type t, uint32_t farm_id)
{
	size_t i;

	for (i = 0; i < c->nfarms; i++)
		if (c->farms[i].type == t && c->farms[i].farm_id == farm_id)
			return &c->farms[i];
	return NULL;
}

struct tn_frontend_cfg *tn_config_frontend(const struct tn_config *c, enum tn_l4_type t, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->nfrontends; i++)
		if (c->frontends[i].type == t && c->frontends[i].frontend_id == id)
			return &c->frontends[i];
	return NULL;
}

struct tn_server_cfg *tn_farm_server(const struct tn_farm_cfg *f, uint32_t server_id)
{
	size_t i;

	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].server_id == server_id)
			return &f->servers[i];
	return NULL;
}

static int by_id_pos(const void *a, const void *b)
{
	const struct tn_server_pos *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void tn_server_index_init(struct tn_server_index *ix, const struct tn_farm_cfg *f)
{
	ix->farm = f;
	ix->v = f->nservers ? malloc(f->nservers * sizeof(*ix->v)) : NULL;
	if (!ix->v)
		return;
	for (size_t i = 0; i < f->nservers; i++)
		ix->v[i] = (struct tn_server_pos){ .id = f->servers[i].server_id, .pos = (uint32_t)i };
	qsort(ix->v, f->nservers, sizeof(*ix->v), by_id_pos);
}

const struct tn_server_cfg *tn_server_index_find(const struct tn_server_index *ix, uint32_t server_id)
{
	size_t lo = 0, hi;

	if (!ix->v)
		return tn_farm_server(ix->farm, server_id);
	hi = ix->farm->nservers;
	while (lo < hi) { /* the first entry whose id is not below server_id */
		size_t mid = lo + (hi - lo) / 2;

		if (ix->v[mid].id < server_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ix->farm->nservers || ix->v[lo].id != server_id)
		return NULL;
	return &ix->farm->servers[ix->v[lo].pos];
}

void tn_server_index_free(struct tn_server_index *ix)
{
	free(ix->v);
	ix->v = NULL;
}

/* ---- appending ---------------------------------------------------------------- */

static int append_moved(void **arr, size_t *n, size_t size, void *item)
{
	char *nv = realloc(*arr, (*n + 1) * size);

	if (!nv)
		return -ENOMEM;
	*arr = nv;
	memcpy(nv + *n * size, item, size);
	memset(item, 0, size);
	(*n)++;
	return 0;
}

int tn_config_add_farm(struct tn_config *c, struct tn_farm_cfg *f)
{
	return append_moved((void **)&c->farms, &c->nfarms, sizeof(*f), f);
}

int tn_config_add_frontend(struct tn_config *c, struct tn_frontend_cfg *f)
{
	return append_moved((void **)&c->frontends, &c->nfrontends, sizeof(*f), f);
}

int tn_farm_add_server(struct tn_farm_cfg *f, struct tn_server_cfg *s)
{
	return append_moved((void **)&f->servers, &f->nservers, sizeof(*s), s);
}
