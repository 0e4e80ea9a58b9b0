// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The whole document: settings, interfaces, conntrack, the farms and
 * frontends, ids, and the text and files it comes from and goes to.
 *
 * Parsing goes on after an error so that the operator sees every mistake of
 * a file at once. Objects are parsed into a temporary configuration moved
 * into the caller's only when the whole document is valid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "dataplane/maglev.h"
#include "lib/file.h"
#include "lib/json.h"

#define FILE_MAX (64u << 20) /* a config file larger than this is a mistake */

static const char *const config_keys[] = {
	"zone", "interfaces", "hashSeed", "tableSize", "conntrack", "farms", "frontends", "bgp", NULL
};
static const char *const conntrack_keys[] = { "size", "tcpTimeout", "udpTimeout", "udpAdmitRate", "tcpAdmitRate", NULL };

/* ---- settings -------------------------------------------------------------------- */

/* What the kernel accepts as a device name (dev_valid_name). */
static bool ifname_ok(const char *s)
{
	if (!*s || strlen(s) > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || *s == '\n' ||
		    (unsigned char)*s < 0x20)
			return false;
	return true;
}

static void parse_interface(struct tn_jctx *x, json_object *e, const char *p, struct tn_config *c)
{
	char g[TN_JGOT_LEN];
	const char *s;
	size_t j;

	if (!tn_jwant_str(x, e, p, false, 64, &s))
		return;
	if (!ifname_ok(s)) {
		tn_jfail(x, p, "must be an interface name of 1..15 characters, got %s", tn_jgot(e, g));
		return;
	}
	for (j = 0; j < c->ninterfaces; j++)
		if (!strcmp(c->interfaces[j], s)) {
			tn_jfail(x, p, "%s is listed twice", tn_jgot(e, g));
			return;
		}
	if (tn_jset_str(x, p, &c->interfaces[c->ninterfaces], s))
		c->ninterfaces++;
}

/* Required and not empty: a controller attached to nothing serves nothing. */
static void parse_interfaces(struct tn_jctx *x, json_object *v, struct tn_config *c)
{
	char p[TN_JPATH_LEN];
	size_t i, n;

	if (!v) {
		tn_jfail(x, "interfaces", "required: the interfaces the controller attaches to, "
			 "e.g. [\"eth0\"]");
		return;
	}
	if (!tn_jwant_array(x, v, "interfaces"))
		return;
	n = json_object_array_length(v);
	if (n > TN_MAX_IFACES) {
		tn_jfail(x, "interfaces", "at most %u interfaces, got %zu", TN_MAX_IFACES, n);
		return;
	}
	if (!n) {
		tn_jfail(x, "interfaces", "must list at least one interface the controller attaches to, "
			 "e.g. [\"eth0\"]");
		return;
	}
	c->interfaces = calloc(n, sizeof(*c->interfaces));
	if (!c->interfaces) {
		tn_jfail(x, "interfaces", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		parse_interface(x, json_object_array_get_idx(v, i), tn_jpath_idx(p, "interfaces", i), c);
}

static void parse_conntrack(struct tn_jctx *x, json_object *v, struct tn_config *c)
{
	json_object *f;

	if (!v || !tn_jwant_object(x, v, "conntrack"))
		return;
	tn_jcheck_keys(x, v, "conntrack", conntrack_keys);
	f = tn_jfield(v, "size");
	if (f)
		tn_jwant_u32(x, f, "conntrack.size", 1024, 100000000, &c->ct_size);
	f = tn_jfield(v, "tcpTimeout");
	if (f)
		tn_jwant_u32(x, f, "conntrack.tcpTimeout", 1, 86400, &c->tcp_timeout_s);
	f = tn_jfield(v, "udpTimeout");
	if (f)
		tn_jwant_u32(x, f, "conntrack.udpTimeout", 1, 86400, &c->udp_timeout_s);
	f = tn_jfield(v, "udpAdmitRate");
	if (f)
		tn_jwant_u32(x, f, "conntrack.udpAdmitRate", 0, 100000000, &c->udp_admit_rate);
	f = tn_jfield(v, "tcpAdmitRate");
	if (f)
		tn_jwant_u32(x, f, "conntrack.tcpAdmitRate", 0, 100000000, &c->tcp_admit_rate);
}

static void parse_settings(struct tn_jctx *x, json_object *root, struct tn_config *c)
{
	json_object *v;
	const char *s;

	v = tn_jfield(root, "zone");
	if (v && tn_jwant_str(x, v, "zone", false, TN_NAME_MAX, &s)) {
		if (!s[0])
			tn_jfail(x, "zone", "must not be empty");
		else
			tn_jset_str(x, "zone", &c->zone, s);
	}
	parse_interfaces(x, tn_jfield(root, "interfaces"), c);
	v = tn_jfield(root, "hashSeed");
	if (v)
		tn_jwant_u32(x, v, "hashSeed", 0, UINT32_MAX, &c->hash_seed);
	v = tn_jfield(root, "tableSize");
	if (v && tn_jwant_u32(x, v, "tableSize", 1021, TN_TABLE_SIZE_MAX, &c->table_size) &&
	    !tn_is_prime(c->table_size)) {
		/* Maglev needs a prime so that every permutation covers the table */
		tn_jfail(x, "tableSize", "must be a prime number, got %u", c->table_size);
		c->table_size = TN_TABLE_SIZE_DEFAULT;
	}
	parse_conntrack(x, tn_jfield(root, "conntrack"), c);
}

/* ---- farms and frontends ------------------------------------------------------------ */

static void parse_farms(struct tn_jctx *x, json_object *v, struct tn_config *c, struct tn_cfg_marks *m)
{
	char p[TN_JPATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null || !tn_jwant_array(x, v, "farms"))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	c->farms = calloc(n, sizeof(*c->farms));
	m->farm_bad = calloc(n, sizeof(bool));
	if (!c->farms || !m->farm_bad) {
		tn_jfail(x, "farms", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned before = x->failed;

		tn_cfg_parse_farm(x, json_object_array_get_idx(v, i), tn_jpath_idx(p, "farms", i), &c->farms[i]);
		m->farm_bad[i] = x->failed != before;
		c->nfarms++;
	}
}

static void parse_frontends(struct tn_jctx *x, json_object *v, struct tn_config *c, struct tn_cfg_marks *m)
{
	char p[TN_JPATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null || !tn_jwant_array(x, v, "frontends"))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	c->frontends = calloc(n, sizeof(*c->frontends));
	m->frontend_bad = calloc(n, sizeof(bool));
	if (!c->frontends || !m->frontend_bad) {
		tn_jfail(x, "frontends", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned before = x->failed;

		tn_cfg_parse_frontend(x, json_object_array_get_idx(v, i), tn_jpath_idx(p, "frontends", i),
				      &c->frontends[i]);
		m->frontend_bad[i] = x->failed != before;
		c->nfrontends++;
	}
}

static void assign_failed(struct tn_jctx *x, const char *path, int rc, const char *what)
{
	if (rc == -ENOSPC)
		tn_jfail(x, path, "every %s is taken", what);
	else if (rc)
		tn_jfail(x, path, "out of memory");
}

/* Farm and frontend ids are per type (a tcp farm 1 and a udp farm 1 coexist). */
static void assign_config_ids(struct tn_jctx *x, struct tn_config *c)
{
	size_t n = c->nfarms > c->nfrontends ? c->nfarms : c->nfrontends, i, k;
	uint32_t **ids = malloc((n ? n : 1) * sizeof(*ids));
	int t;

	if (!ids) {
		tn_jfail(x, "", "out of memory");
		return;
	}
	for (t = TN_L4_TCP; t <= TN_L4_UDP; t++) {
		for (i = k = 0; i < c->nfarms; i++)
			if (c->farms[i].type == (enum tn_l4_type)t)
				ids[k++] = &c->farms[i].farm_id;
		assign_failed(x, "farms", tn_cfg_assign_ids(ids, k), "farmId");
		for (i = k = 0; i < c->nfrontends; i++)
			if (c->frontends[i].type == (enum tn_l4_type)t)
				ids[k++] = &c->frontends[i].frontend_id;
		assign_failed(x, "frontends", tn_cfg_assign_ids(ids, k), "frontendId");
	}
	free(ids);
}

int tn_config_from_json(json_object *root, struct tn_config *out, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	struct tn_cfg_marks m = { .trust = { .errs = errs } };
	struct tn_config c;

	m.trust.from = errs ? errs->n : 0;
	if (tn_config_init(&c)) {
		tn_jfail(&x, "", "out of memory");
		return -ENOMEM;
	}
	if (!tn_jwant_object(&x, root, ""))
		goto bad;
	tn_jcheck_keys(&x, root, "", config_keys);
	parse_settings(&x, root, &c);
	parse_farms(&x, tn_jfield(root, "farms"), &c, &m);
	parse_frontends(&x, tn_jfield(root, "frontends"), &c, &m);
	tn_config_bgp_parse(&x, root, &c);
	assign_config_ids(&x, &c);
	m.trust.to = errs ? errs->n : 0;
	tn_cfg_validate(&x, &c, &m);
	if (x.failed && errs)
		tn_cfg_label_config(errs, m.trust.from, &m.trust, &c);
	free(m.farm_bad);
	free(m.frontend_bad);
	if (x.failed)
		goto bad;
	*out = c;
	return 0;
bad:
	tn_config_free(&c);
	return -EINVAL;
}

/* ---- text and files ------------------------------------------------------------- */

static int parse_text(const char *text, size_t len, const char *origin, struct tn_config *out,
		      struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	char err[TN_ERROR_MESSAGE_MAX];
	json_object *root;
	int rc;

	/* the one strict reader files and API bodies share (lib/json.h) */
	root = tn_json_parse(text, len, err, sizeof(err));
	if (!root) {
		tn_jfail(&x, origin, "%s", err);
		return -EINVAL;
	}
	rc = tn_config_from_json(root, out, errs);
	json_object_put(root);
	return rc;
}

int tn_config_parse_string(const char *text, struct tn_config *out, struct tn_errors *errs)
{
	return parse_text(text ? text : "", text ? strlen(text) : 0, NULL, out, errs);
}

int tn_config_load_file(const char *path, struct tn_config *out, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = tn_file_read(path, FILE_MAX, &text, &len);
	if (rc) {
		tn_jfail(&x, path, "cannot read: %s", strerror(-rc));
		return rc;
	}
	rc = parse_text(text, len, path, out, errs);
	free(text);
	return rc;
}

int tn_config_save_file(const struct tn_config *c, const char *path)
{
	json_object *j = tn_config_to_json(c);
	const char *text;
	char *copy = NULL;
	int rc;

	if (!j)
		return -ENOMEM;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = text && asprintf(&copy, "%s\n", text) >= 0 ?
	     tn_file_write_atomic(path, copy, strlen(copy), 0644) : -ENOMEM;
	free(copy);
	json_object_put(j);
	return rc;
}
