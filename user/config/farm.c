// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Farm objects and the servers they list: JSON to model, and the rules on
 * one farm's server list (the API runs them on a farm body too). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

static const char *const server_keys[] = {
	"serverId", "displayName", "address", "port", "weight", "status", "backup",
	"probe", "mac", NULL
};
static const char *const status_names[] = { "active", "inactive", NULL };
static const char *const farm_keys[] = {
	"farmId", "type", "displayName", "port", "balance", "stickiness", "zone",
	"probe", "servers", "forwarding", "gueVersion", "guePort", "encapSource", "mssClamp", NULL
};
static const char *const stickiness_names[] = { "sourceIp", NULL };

/* ---- server ------------------------------------------------------------------- */

static void server_defaults(struct tn_server_cfg *s)
{
	memset(s, 0, sizeof(*s));
	s->weight = 1;
	s->active = true;
	s->probe = true;
}

static void parse_server_address(struct tn_jctx *x, json_object *o, const char *path,
				 struct tn_server_cfg *s)
{
	char p[TN_JPATH_LEN], g[TN_JGOT_LEN];
	json_object *v = tn_jfield(o, "address");
	const char *str;

	tn_jpath_key(p, path, "address");
	if (!v) {
		tn_jfail(x, p, "is required");
		return;
	}
	if (!tn_jwant_str(x, v, p, false, 64, &str))
		return;
	if (tn_addr_parse(str, &s->address))
		tn_jfail(x, p, "must be an IPv4 or IPv6 address, got %s", tn_jgot(v, g));
}

static void parse_server_flags(struct tn_jctx *x, json_object *o, const char *path, struct tn_server_cfg *s)
{
	char p[TN_JPATH_LEN], g[TN_JGOT_LEN];
	const char *str;
	json_object *v;
	int i;

	v = tn_jfield(o, "status");
	if (v && (i = tn_jwant_enum(x, v, tn_jpath_key(p, path, "status"), status_names, false)) >= 0)
		s->active = i == 0;
	v = tn_jfield(o, "backup");
	if (v)
		tn_jwant_bool(x, v, tn_jpath_key(p, path, "backup"), &s->backup);
	v = tn_jfield(o, "probe");
	if (v)
		tn_jwant_bool(x, v, tn_jpath_key(p, path, "probe"), &s->probe);
	v = tn_jfield(o, "mac");
	if (v && tn_jwant_str(x, v, tn_jpath_key(p, path, "mac"), true, 64, &str) && str) {
		if (tn_mac_parse(str, s->mac))
			tn_jfail(x, p, "must be a MAC address like \"aa:bb:cc:dd:ee:ff\", got %s", tn_jgot(v, g));
		else
			s->has_mac = true;
	}
}

void tn_cfg_parse_server(struct tn_jctx *x, json_object *o, const char *path, struct tn_server_cfg *s)
{
	char p[TN_JPATH_LEN];
	json_object *v;

	server_defaults(s);
	if (!tn_jwant_object(x, o, path))
		return;
	tn_jcheck_keys(x, o, path, server_keys);
	v = tn_jfield(o, "serverId");
	if (v)
		tn_jwant_u32(x, v, tn_jpath_key(p, path, "serverId"), 0, UINT32_MAX, &s->server_id);
	tn_jopt_str(x, o, path, "displayName", TN_NAME_MAX, &s->display_name);
	parse_server_address(x, o, path, s);
	v = tn_jfield(o, "port");
	if (v)
		tn_jwant_u16(x, v, tn_jpath_key(p, path, "port"), 0, 65535, &s->port);
	v = tn_jfield(o, "weight");
	if (v)
		tn_jwant_u16(x, v, tn_jpath_key(p, path, "weight"), 0, 256, &s->weight);
	parse_server_flags(x, o, path, s);
}

int tn_server_from_json(json_object *o, const char *path, struct tn_server_cfg *out, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	struct tn_server_cfg s;

	tn_cfg_parse_server(&x, o, path ? path : "", &s);
	if (x.failed) {
		tn_server_free(&s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/* ---- farm ---------------------------------------------------------------------- */

static void farm_defaults(struct tn_farm_cfg *f)
{
	memset(f, 0, sizeof(*f));
	f->type = TN_L4_TCP;
	f->balance = TN_BAL_SOURCE;
	f->stickiness = TN_STICK_NONE;
	tn_cfg_probe_defaults(&f->probe);
	tn_cfg_encap_defaults(&f->encap);
}

void tn_cfg_parse_l4_type(struct tn_jctx *x, json_object *o, const char *path, const char *what,
			  enum tn_l4_type *out)
{
	json_object *v = tn_jfield(o, "type");
	char p[TN_JPATH_LEN];
	int i;

	tn_jpath_key(p, path, "type");
	if (!v) {
		tn_jfail(x, p, "is required (\"tcp\" or \"udp\")");
		return;
	}
	if (tn_jstr_is(v, "http")) {
		tn_jfail(x, p, "\"http\" is not supported: HTTP %s need an L7 proxy, which Tenace is not; "
			 "use \"tcp\" or \"udp\"", what);
		return;
	}
	i = tn_jwant_enum(x, v, p, tn_cfg_l4_names, false);
	if (i >= 0)
		*out = (enum tn_l4_type)i;
}

static void parse_balance(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = tn_jfield(o, "balance");
	char p[TN_JPATH_LEN];
	int i;

	if (!v)
		return;
	tn_jpath_key(p, path, "balance");
	if (tn_jstr_is(v, "leastconn")) {
		tn_jfail(x, p, "\"leastconn\" is not supported: a direct-server-return L4 balancer never "
			 "sees connections end, so it cannot count them; use \"source\", \"roundrobin\" "
			 "or \"first\"");
		return;
	}
	i = tn_jwant_enum(x, v, p, tn_cfg_balance_names, false);
	if (i >= 0)
		f->balance = (enum tn_balance)i;
}

static void parse_stickiness(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = tn_jfield(o, "stickiness");
	char p[TN_JPATH_LEN];

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	tn_jpath_key(p, path, "stickiness");
	if (tn_jstr_is(v, "cookie"))
		tn_jfail(x, p, "\"cookie\" is not supported: cookies need an L7 (HTTP) proxy, which Tenace "
			 "is not; use \"sourceIp\" or null");
	else if (tn_jwant_enum(x, v, p, stickiness_names, true) == 0)
		f->stickiness = TN_STICK_SOURCE_IP;
}

static void assign_server_ids(struct tn_jctx *x, const char *path, struct tn_farm_cfg *f)
{
	uint32_t **ids;
	size_t i;
	int rc;

	ids = malloc((f->nservers ? f->nservers : 1) * sizeof(*ids));
	if (!ids) {
		tn_jfail(x, path, "out of memory");
		return;
	}
	for (i = 0; i < f->nservers; i++)
		ids[i] = &f->servers[i].server_id;
	rc = tn_cfg_assign_ids(ids, f->nservers);
	if (rc)
		tn_jfail(x, path, "%s", rc == -ENOSPC ? "every serverId is taken" : "out of memory");
	free(ids);
}

static void parse_farm_servers(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = tn_jfield(o, "servers");
	char p[TN_JPATH_LEN], pi[TN_JPATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	if (!tn_jwant_array(x, v, tn_jpath_key(p, path, "servers")))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	f->servers = calloc(n, sizeof(*f->servers));
	if (!f->servers) {
		tn_jfail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		tn_cfg_parse_server(x, json_object_array_get_idx(v, i), tn_jpath_idx(pi, p, i), &f->servers[i]);
	f->nservers = n;
	assign_server_ids(x, p, f);
}

void tn_cfg_parse_farm(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	char p[TN_JPATH_LEN];
	json_object *v;

	farm_defaults(f);
	if (!tn_jwant_object(x, o, path)) {
		tn_jset_str(x, path, &f->probe.url, "/");
		return;
	}
	tn_jcheck_keys(x, o, path, farm_keys);
	v = tn_jfield(o, "farmId");
	if (v)
		tn_jwant_u32(x, v, tn_jpath_key(p, path, "farmId"), 0, UINT32_MAX, &f->farm_id);
	tn_cfg_parse_l4_type(x, o, path, "farms", &f->type);
	tn_jopt_str(x, o, path, "displayName", TN_NAME_MAX, &f->display_name);
	v = tn_jfield(o, "port");
	if (v)
		tn_jwant_u16(x, v, tn_jpath_key(p, path, "port"), 0, 65535, &f->port);
	parse_balance(x, o, path, f);
	parse_stickiness(x, o, path, f);
	tn_cfg_parse_encap(x, o, path, f);
	tn_jopt_str(x, o, path, "zone", TN_NAME_MAX, &f->zone);
	tn_cfg_parse_probe(x, tn_jfield(o, "probe"), tn_jpath_key(p, path, "probe"), &f->probe);
	parse_farm_servers(x, o, path, f);
}

/* ---- rules on one farm ------------------------------------------------------------ */

/* Servers by address and effective port, to find a farm's duplicates in
 * O(n log n): a walk per server is half a million comparisons at 1,024. */
struct addr_pos {
	struct tn_addr address;
	uint16_t port;
	uint32_t pos;
};

static int by_addr_pos(const void *a, const void *b)
{
	const struct addr_pos *x = a, *y = b;
	int c = memcmp(&x->address, &y->address, sizeof(x->address));

	if (c)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* first[i]: the first server on server i's address and effective port when
 * it comes before i, else SIZE_MAX. -ENOMEM when the list cannot be sorted. */
static int address_firsts(const struct tn_farm_cfg *f, size_t *first)
{
	struct addr_pos *v = malloc((f->nservers ? f->nservers : 1) * sizeof(*v));
	size_t i, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < f->nservers; i++) {
		first[i] = SIZE_MAX;
		if (!f->servers[i].address.family)
			continue; /* its address is already wrong */
		memset(&v[n], 0, sizeof(v[n]));
		v[n].address = f->servers[i].address;
		v[n].port = tn_server_port(f, &f->servers[i]);
		v[n].pos = (uint32_t)i;
		n++;
	}
	qsort(v, n, sizeof(*v), by_addr_pos);
	for (i = 1; i < n; i++) /* a run of equals: all but its first (lowest position) point at it */
		if (!memcmp(&v[i].address, &v[i - 1].address, sizeof(v[i].address)) && v[i].port == v[i - 1].port)
			first[v[i].pos] = first[v[i - 1].pos] != SIZE_MAX ? first[v[i - 1].pos] : v[i - 1].pos;
	free(v);
	return 0;
}

/* Two servers of one farm on one address and effective port: the data plane
 * could not tell them apart. */
static void report_server_duplicate(struct tn_jctx *x, const struct tn_cfg_trust *t, const struct tn_farm_cfg *f,
				    size_t j, const char *p, const char *ps)
{
	const struct tn_server_cfg *o = &f->servers[j];
	char pj[TN_JPATH_LEN], ref[TN_ERROR_LABEL_MAX];

	tn_cfg_server_ref(ref, sizeof(ref), t, tn_jpath_idx(pj, p, j), f, o);
	if (tn_server_port(f, o))
		tn_jfail(x, ps, "same address and port as %s: a farm cannot list one server twice", ref);
	else
		tn_jfail(x, ps, "same address as %s, and neither they nor the farm set a port: "
			 "a farm cannot list one server twice", ref);
}

void tn_cfg_check_farm_servers(struct tn_jctx *x, const struct tn_cfg_trust *t,
			       const struct tn_farm_cfg *f, const char *path)
{
	char p[TN_JPATH_LEN], ps[TN_JPATH_LEN], pid[TN_JPATH_LEN], pj[TN_JPATH_LEN];
	char ref[TN_ERROR_LABEL_MAX];
	struct tn_server_index ix;
	size_t i, *first;

	tn_jpath_key(p, path, "servers");
	if (f->nservers > TN_MAX_SERVERS) {
		tn_jfail(x, p, "at most %u servers per farm, got %zu", TN_MAX_SERVERS, f->nservers);
		return;
	}
	first = malloc((f->nservers ? f->nservers : 1) * sizeof(*first));
	if (!first || address_firsts(f, first)) {
		free(first);
		tn_jfail(x, p, "out of memory while checking the servers");
		return;
	}
	tn_server_index_init(&ix, f);
	for (i = 0; i < f->nservers; i++) {
		const struct tn_server_cfg *o;

		tn_jpath_key(pid, tn_jpath_idx(ps, p, i), "serverId");
		if (first[i] != SIZE_MAX)
			report_server_duplicate(x, t, f, first[i], p, ps);
		if (!f->servers[i].server_id) {
			tn_jfail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
			continue;
		}
		o = tn_server_index_find(&ix, f->servers[i].server_id);
		if (o && o != &f->servers[i]) {
			size_t j = (size_t)(o - f->servers);

			tn_cfg_server_ref(ref, sizeof(ref), t, tn_jpath_idx(pj, p, j), f, o);
			tn_jfail(x, pid, "serverId %u is already used by %s", f->servers[i].server_id, ref);
		}
	}
	tn_server_index_free(&ix);
	free(first);
}

/* The probe engine needs a port for every server it probes: probe.port,
 * else the server's, else the farm's. */
void tn_cfg_check_probe_port(struct tn_jctx *x, const struct tn_farm_cfg *f, const char *path)
{
	static const char msg[] = "no port to probe: set probe.port, the farm's port or the server's port";
	char p[TN_JPATH_LEN], ps[TN_JPATH_LEN], pp[TN_JPATH_LEN];
	size_t i, probed = 0, portless = 0;

	if (f->probe.type == TN_PROBE_NONE || f->probe.port || f->port)
		return;
	for (i = 0; i < f->nservers; i++) {
		if (!f->servers[i].probe)
			continue;
		probed++;
		portless += !f->servers[i].port;
	}
	if (!portless)
		return;
	if (portless == probed) { /* nothing says which port: one error at the probe */
		tn_jfail(x, tn_jpath_key(pp, tn_jpath_key(p, path, "probe"), "port"), "%s", msg);
		return;
	}
	/* some servers have a port: name those that do not */
	tn_jpath_key(p, path, "servers");
	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].probe && !f->servers[i].port)
			tn_jfail(x, tn_jpath_key(pp, tn_jpath_idx(ps, p, i), "port"), "%s", msg);
}

int tn_farm_from_json(json_object *o, const char *path, struct tn_farm_cfg *out, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	struct tn_cfg_trust t = { .errs = errs };
	struct tn_farm_cfg f;

	path = path ? path : "";
	t.from = errs ? errs->n : 0;
	tn_cfg_parse_farm(&x, o, path, &f);
	t.to = errs ? errs->n : 0;
	tn_cfg_check_farm_servers(&x, &t, &f, path);
	tn_cfg_check_encap(&x, &t, &f, path);
	if (!x.failed)
		tn_cfg_check_probe_port(&x, &f, path);
	if (x.failed) {
		if (errs)
			tn_cfg_label_farm(errs, t.from, &t, path, &f);
		tn_farm_free(&f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}
