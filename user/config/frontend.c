// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Frontend objects: VIPs, ports, default farm and source filters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

static const char *const frontend_keys[] = {
	"frontendId", "type", "displayName", "vip", "port", "defaultFarmId", "zone",
	"allowedSource", "deniedSource", "disabled", NULL
};

static void parse_vip_one(struct tn_jctx *x, json_object *v, const char *path, struct tn_frontend_cfg *f)
{
	char g[TN_JGOT_LEN], a[INET6_ADDRSTRLEN];
	struct tn_addr addr;
	const char *s;
	size_t i;

	if (!tn_jwant_str(x, v, path, false, 64, &s))
		return;
	if (tn_addr_parse(s, &addr)) {
		tn_jfail(x, path, "must be an IPv4 or IPv6 address, got %s", tn_jgot(v, g));
		return;
	}
	for (i = 0; i < f->nvips; i++)
		if (!memcmp(&f->vips[i], &addr, sizeof(addr))) {
			tn_addr_format(&addr, a, sizeof(a));
			tn_jfail(x, path, "%s is listed twice", a);
			return;
		}
	f->vips[f->nvips++] = addr;
}

static void parse_vips(struct tn_jctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	json_object *v = tn_jfield(o, "vip");
	char p[TN_JPATH_LEN], pi[TN_JPATH_LEN];
	size_t i, n;

	tn_jpath_key(p, path, "vip");
	if (!v) {
		tn_jfail(x, p, "is required");
		return;
	}
	if (json_object_get_type(v) == json_type_string) {
		f->vips = calloc(1, sizeof(*f->vips));
		if (!f->vips)
			tn_jfail(x, p, "out of memory");
		else
			parse_vip_one(x, v, p, f);
		return;
	}
	if (json_object_get_type(v) != json_type_array) {
		char g[TN_JGOT_LEN];

		tn_jfail(x, p, "must be an address or an array of addresses, got %s", tn_jgot(v, g));
		return;
	}
	n = json_object_array_length(v);
	if (!n) {
		tn_jfail(x, p, "must list at least one address");
		return;
	}
	f->vips = calloc(n, sizeof(*f->vips));
	if (!f->vips) {
		tn_jfail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		parse_vip_one(x, json_object_array_get_idx(v, i), tn_jpath_idx(pi, p, i), f);
}

static void parse_frontend_port(struct tn_jctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	json_object *v = tn_jfield(o, "port");
	char p[TN_JPATH_LEN], g[TN_JGOT_LEN], err[200], num[8];
	const char *s;
	uint16_t port;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	tn_jpath_key(p, path, "port");
	if (json_object_get_type(v) == json_type_int || json_object_get_type(v) == json_type_double) {
		/* a bare number is a single port, kept as its string form */
		if (!tn_jwant_u16(x, v, p, 1, 65535, &port))
			return;
		snprintf(num, sizeof(num), "%u", port);
		s = num;
	} else if (json_object_get_type(v) != json_type_string) {
		tn_jfail(x, p, "must be a string like \"80\", \"80,443\" or \"8000-8100\", or null, got %s",
		     tn_jgot(v, g));
		return;
	} else if (!tn_jwant_str(x, v, p, false, 1024, &s)) {
		return;
	}
	if (tn_port_spec_parse(s, &f->ports, &f->nports, err, sizeof(err))) {
		tn_jfail(x, p, "%s", err);
		return;
	}
	tn_jset_str(x, p, &f->port, s);
}

bool tn_cfg_filter_list_ok(struct tn_jctx *x, const char *path, size_t n)
{
	if (n <= TN_CFG_FILTER_LIST_MAX)
		return true;
	tn_jfail(x, path, "at most %u entries, got %zu", TN_CFG_FILTER_LIST_MAX, n);
	return false;
}

static void parse_cidrs(struct tn_jctx *x, json_object *o, const char *path, const char *key,
			struct tn_cidr **out, size_t *nout)
{
	json_object *v = tn_jfield(o, key);
	char p[TN_JPATH_LEN], pi[TN_JPATH_LEN], g[TN_JGOT_LEN];
	const char *s;
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	if (!tn_jwant_array(x, v, tn_jpath_key(p, path, key)))
		return;
	n = json_object_array_length(v);
	if (!n || !tn_cfg_filter_list_ok(x, p, n))
		return;
	*out = calloc(n, sizeof(**out));
	if (!*out) {
		tn_jfail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		tn_jpath_idx(pi, p, i);
		if (!tn_jwant_str(x, e, pi, false, 64, &s))
			continue;
		if (tn_cidr_parse(s, &(*out)[*nout]))
			tn_jfail(x, pi, "must be an IPv4 or IPv6 address or prefix (\"10.0.0.0/8\"), got %s",
			     tn_jgot(e, g));
		else
			(*nout)++;
	}
}

void tn_cfg_parse_frontend(struct tn_jctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	char p[TN_JPATH_LEN];
	json_object *v;

	memset(f, 0, sizeof(*f));
	if (!tn_jwant_object(x, o, path))
		return;
	tn_jcheck_keys(x, o, path, frontend_keys);
	v = tn_jfield(o, "frontendId");
	if (v)
		tn_jwant_u32(x, v, tn_jpath_key(p, path, "frontendId"), 0, UINT32_MAX, &f->frontend_id);
	tn_cfg_parse_l4_type(x, o, path, "frontends", &f->type);
	tn_jopt_str(x, o, path, "displayName", TN_NAME_MAX, &f->display_name);
	parse_vips(x, o, path, f);
	parse_frontend_port(x, o, path, f);
	v = tn_jfield(o, "defaultFarmId");
	tn_jpath_key(p, path, "defaultFarmId");
	if (!v)
		tn_jfail(x, p, "is required");
	else
		tn_jwant_u32(x, v, p, 1, UINT32_MAX, &f->default_farm_id);
	tn_jopt_str(x, o, path, "zone", TN_NAME_MAX, &f->zone);
	parse_cidrs(x, o, path, "allowedSource", &f->allowed_source, &f->nallowed);
	parse_cidrs(x, o, path, "deniedSource", &f->denied_source, &f->ndenied);
	v = tn_jfield(o, "disabled");
	if (v)
		tn_jwant_bool(x, v, tn_jpath_key(p, path, "disabled"), &f->disabled);
}

int tn_frontend_from_json(json_object *o, const char *path, struct tn_frontend_cfg *out,
			  struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	struct tn_frontend_cfg f;

	tn_cfg_parse_frontend(&x, o, path ? path : "", &f);
	if (x.failed) {
		tn_frontend_free(&f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}
