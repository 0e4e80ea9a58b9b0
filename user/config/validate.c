// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cross-object rules: ids unique, frontends' farms exist and serve their VIPs'
 * families, no two frontends on one VIP, port and type, the data plane's
 * limits. Run on a parsed document and on a model built in code (the API's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"

/* The data plane's VIP map holds TN_MAX_VIPS entries: one per (address,
 * port) of every frontend, enabled or disabled, plus one per VIP address (for
 * fragments); the controller keeps half of the map for the latter. */
#define VIP_PORT_ENTRIES_MAX (TN_MAX_VIPS / 2)

static bool farm_bad(const struct tn_cfg_marks *m, size_t i)
{
	return m->farm_bad && m->farm_bad[i];
}

static bool frontend_bad(const struct tn_cfg_marks *m, size_t i)
{
	return m->frontend_bad && m->frontend_bad[i];
}

static void check_farms(struct tn_jctx *x, const struct tn_config *c, const struct tn_cfg_marks *m)
{
	char p[TN_JPATH_LEN], pid[TN_JPATH_LEN], pj[TN_JPATH_LEN], other[TN_ERROR_LABEL_MAX];
	size_t i, j;

	if (c->nfarms > TN_MAX_FARMS)
		tn_jfail(x, "farms", "at most %u farms, got %zu", TN_MAX_FARMS, c->nfarms);
	for (i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];

		tn_jpath_idx(p, "farms", i);
		tn_cfg_check_farm_servers(x, &m->trust, f, p);
		if (!farm_bad(m, i))
			tn_cfg_check_encap(x, &m->trust, f, p);
		if (!farm_bad(m, i))
			tn_cfg_check_probe_port(x, f, p);
		tn_jpath_key(pid, p, "farmId");
		if (!f->farm_id) {
			tn_jfail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
			continue;
		}
		for (j = 0; j < i; j++)
			if (c->farms[j].farm_id == f->farm_id && c->farms[j].type == f->type) {
				tn_cfg_farm_ref(other, sizeof(other), &m->trust, tn_jpath_idx(pj, "farms", j),
						&c->farms[j]);
				tn_jfail(x, pid, "%s farm %u is already defined by %s",
					 tn_l4_type_name(f->type), f->farm_id, other);
				break;
			}
	}
}

static bool farm_has_family(const struct tn_farm_cfg *f, uint8_t family)
{
	size_t i;

	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].address.family == family)
			return true;
	return false;
}

/* The frontend's default farm, of its type; NULL once its absence is reported
 * (or explained by the farm's own errors: *quiet). */
static const struct tn_farm_cfg *frontend_farm(struct tn_jctx *x, const struct tn_config *c, size_t i,
					       const struct tn_cfg_marks *m, size_t *fi)
{
	const struct tn_frontend_cfg *fe = &c->frontends[i];
	char p[TN_JPATH_LEN], pv[TN_JPATH_LEN], pj[TN_JPATH_LEN], other[TN_ERROR_LABEL_MAX];
	size_t j, other_j = c->nfarms;

	for (j = 0; j < c->nfarms; j++) {
		if (c->farms[j].farm_id != fe->default_farm_id)
			continue;
		if (farm_bad(m, j))
			return NULL; /* the farm's own errors already explain a mismatch */
		if (c->farms[j].type == fe->type) {
			*fi = j;
			return &c->farms[j];
		}
		other_j = j;
	}
	tn_jpath_key(p, tn_jpath_idx(pv, "frontends", i), "defaultFarmId");
	if (other_j < c->nfarms)
		tn_jfail(x, p, "farmId %u is %s: a %s frontend needs a %s farm", fe->default_farm_id,
			 tn_cfg_farm_ref(other, sizeof(other), &m->trust, tn_jpath_idx(pj, "farms", other_j),
					 &c->farms[other_j]),
			 tn_l4_type_name(fe->type), tn_l4_type_name(fe->type));
	else
		tn_jfail(x, p, "no %s farm has farmId %u", tn_l4_type_name(fe->type), fe->default_farm_id);
	return NULL;
}

static void check_frontend_farm(struct tn_jctx *x, const struct tn_config *c, size_t i,
				const struct tn_cfg_marks *m)
{
	const struct tn_frontend_cfg *fe = &c->frontends[i];
	char p[TN_JPATH_LEN], pv[TN_JPATH_LEN], pk[TN_JPATH_LEN], pf[TN_JPATH_LEN];
	char farm_ref[TN_ERROR_LABEL_MAX], a[INET6_ADDRSTRLEN];
	const struct tn_farm_cfg *farm;
	size_t fi = 0, k;

	farm = frontend_farm(x, c, i, m, &fi);
	/* an empty farm is allowed: servers are added after (the API's order) */
	if (!farm || !farm->nservers)
		return;
	tn_jpath_key(pk, tn_jpath_idx(pv, "frontends", i), "vip");
	for (k = 0; k < fe->nvips; k++) {
		uint8_t fam = fe->vips[k].family;

		if (farm_has_family(farm, fam))
			continue;
		tn_addr_format(&fe->vips[k], a, sizeof(a));
		tn_cfg_farm_ref(farm_ref, sizeof(farm_ref), &m->trust, tn_jpath_idx(pf, "farms", fi), farm);
		tn_jfail(x, tn_jpath_idx(p, pk, k), "%s is IPv%u but the default farm, %s, has no IPv%u server",
			 a, fam, farm_ref, fam);
	}
}

static const struct tn_addr *shared_vip(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i, j;

	for (i = 0; i < a->nvips; i++)
		for (j = 0; j < b->nvips; j++)
			if (!memcmp(&a->vips[i], &b->vips[j], sizeof(a->vips[i])))
				return &a->vips[i];
	return NULL;
}

static void check_vip_overlap(struct tn_jctx *x, const struct tn_config *c, size_t i,
			      const struct tn_cfg_marks *m)
{
	const struct tn_frontend_cfg *a = &c->frontends[i];
	char p[TN_JPATH_LEN], pj[TN_JPATH_LEN], other[TN_ERROR_LABEL_MAX], addr[INET6_ADDRSTRLEN];
	size_t j;

	for (j = 0; j < i; j++) {
		const struct tn_frontend_cfg *b = &c->frontends[j];
		const struct tn_addr *shared;
		long pt;

		/* a disabled frontend holds its VIP entries too (they drop as
		 * "disabled"): it conflicts like an enabled one */
		if (b->type != a->type || frontend_bad(m, j))
			continue;
		shared = shared_vip(a, b);
		if (!shared)
			continue;
		pt = tn_ports_overlap(a, b);
		if (pt < 0)
			continue;
		tn_addr_format(shared, addr, sizeof(addr));
		tn_cfg_frontend_ref(other, sizeof(other), &m->trust, tn_jpath_idx(pj, "frontends", j), b);
		if (pt)
			tn_jfail(x, tn_jpath_idx(p, "frontends", i), "%s already takes %s %s port %ld",
				 other, tn_l4_type_name(a->type), addr, pt);
		else
			tn_jfail(x, tn_jpath_idx(p, "frontends", i), "%s already takes every %s port of %s",
				 other, tn_l4_type_name(a->type), addr);
	}
}

static uint64_t frontend_vip_entries(const struct tn_frontend_cfg *f)
{
	uint64_t ports = 0;
	size_t i;

	for (i = 0; i < f->nports; i++)
		ports += (uint64_t)f->ports[i].last - f->ports[i].first + 1;
	return (uint64_t)f->nvips * (f->nports ? ports : 1);
}

static void check_frontend_id(struct tn_jctx *x, const struct tn_config *c, size_t i,
			      const struct tn_cfg_marks *m)
{
	const struct tn_frontend_cfg *fe = &c->frontends[i];
	char p[TN_JPATH_LEN], pid[TN_JPATH_LEN], pj[TN_JPATH_LEN], other[TN_ERROR_LABEL_MAX];
	size_t j;

	tn_jpath_key(pid, tn_jpath_idx(p, "frontends", i), "frontendId");
	if (!fe->frontend_id) {
		tn_jfail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
		return;
	}
	for (j = 0; j < i; j++)
		if (c->frontends[j].frontend_id == fe->frontend_id && c->frontends[j].type == fe->type) {
			tn_cfg_frontend_ref(other, sizeof(other), &m->trust, tn_jpath_idx(pj, "frontends", j),
					    &c->frontends[j]);
			tn_jfail(x, pid, "%s frontend %u is already defined by %s",
				 tn_l4_type_name(fe->type), fe->frontend_id, other);
			return;
		}
}

/* What the data plane's maps hold for all frontends together. */
static void check_frontend_totals(struct tn_jctx *x, const struct tn_config *c)
{
	uint64_t entries = 0, allowed = 0, denied = 0;
	size_t i;

	for (i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &c->frontends[i];

		entries += frontend_vip_entries(fe);
		allowed += (uint64_t)fe->nvips * fe->nallowed;
		denied += (uint64_t)fe->nvips * fe->ndenied;
	}
	if (entries > VIP_PORT_ENTRIES_MAX)
		tn_jfail(x, "frontends", "at most %u VIP entries (address, port), got %llu "
			 "(each port of a range counts)", VIP_PORT_ENTRIES_MAX, (unsigned long long)entries);
	if (allowed > TN_MAX_FILTERS)
		tn_jfail(x, "frontends", "at most %u allowedSource entries in all, got %llu "
			 "(the list of a frontend counts once per VIP)", TN_MAX_FILTERS,
			 (unsigned long long)allowed);
	if (denied > TN_MAX_FILTERS)
		tn_jfail(x, "frontends", "at most %u deniedSource entries in all, got %llu "
			 "(the list of a frontend counts once per VIP)", TN_MAX_FILTERS,
			 (unsigned long long)denied);
}

static void check_frontends(struct tn_jctx *x, const struct tn_config *c, const struct tn_cfg_marks *m)
{
	char p[TN_JPATH_LEN], pl[TN_JPATH_LEN];
	size_t i;

	for (i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &c->frontends[i];

		check_frontend_id(x, c, i, m);
		if (frontend_bad(m, i))
			continue;
		/* parsing already checked these; a model built in code was not parsed */
		tn_jpath_idx(p, "frontends", i);
		tn_cfg_filter_list_ok(x, tn_jpath_key(pl, p, "allowedSource"), fe->nallowed);
		tn_cfg_filter_list_ok(x, tn_jpath_key(pl, p, "deniedSource"), fe->ndenied);
		check_frontend_farm(x, c, i, m);
		check_vip_overlap(x, c, i, m);
	}
	check_frontend_totals(x, c);
}

int tn_cfg_validate(struct tn_jctx *x, const struct tn_config *c, const struct tn_cfg_marks *m)
{
	unsigned before = x->failed;

	check_farms(x, c, m);
	check_frontends(x, c, m);
	return x->failed != before ? -EINVAL : 0;
}

int tn_config_validate(const struct tn_config *c, struct tn_errors *errs)
{
	struct tn_jctx x = { .errs = errs };
	struct tn_cfg_marks m = { .trust = { .errs = errs } };
	int rc;

	m.trust.from = m.trust.to = errs ? errs->n : 0;
	rc = tn_cfg_validate(&x, c, &m);
	if (rc && errs)
		tn_cfg_label_config(errs, m.trust.from, &m.trust, c);
	return rc;
}
