/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The pending diff: staged changes not applied yet, counted per zone. */
#include <stdlib.h>
#include "control/internal.h"

struct zone_count {
	char *zone;
	int n;
};

struct zone_counts {
	struct zone_count *v;
	size_t n;
};

static void zc_add(struct zone_counts *zc, const char *zone, int n)
{
	size_t i;

	for (i = 0; i < zc->n; i++)
		if (!strcmp(zc->v[i].zone, zone))
			break;
	if (i == zc->n) {
		struct zone_count *nv = realloc(zc->v, (zc->n + 1) * sizeof(*nv));
		char *z = strdup(zone);

		if (!nv || !z) {
			free(z);
			if (nv)
				zc->v = nv;
			return;
		}
		zc->v = nv;
		zc->v[zc->n].zone = z;
		zc->v[zc->n].n = 0;
		zc->n++;
	}
	zc->v[i].n += n;
}

static void zc_free(struct zone_counts *zc)
{
	for (size_t i = 0; i < zc->n; i++)
		free(zc->v[i].zone);
	free(zc->v);
}

/* The farm's own fields, its servers aside (they count one by one). */
static bool farm_attrs_equal(const struct tn_farm_cfg *a, const struct tn_farm_cfg *b)
{
	struct tn_farm_cfg fa = *a, fb = *b;

	fa.servers = fb.servers = NULL;
	fa.nservers = fb.nservers = 0;
	return tn_farm_equal(&fa, &fb);
}

/* A farm of both configurations: its own fields, then each server. */
static void count_farm_changes(const struct tn_farm_cfg *f, const struct tn_farm_cfg *a, const char *zone,
			       struct zone_counts *zc)
{
	struct tn_server_index fi, ai; /* 1,000 servers each way: no walk per server */
	size_t j;

	if (!farm_attrs_equal(f, a))
		zc_add(zc, zone, 1);
	tn_server_index_init(&fi, f);
	tn_server_index_init(&ai, a);
	for (j = 0; j < f->nservers; j++) {
		const struct tn_server_cfg *as = tn_server_index_find(&ai, f->servers[j].server_id);

		if (!as || !tn_server_equal(as, &f->servers[j]))
			zc_add(zc, zone, 1);
	}
	for (j = 0; j < a->nservers; j++)
		if (!tn_server_index_find(&fi, a->servers[j].server_id))
			zc_add(zc, zone, 1);
	tn_server_index_free(&fi);
	tn_server_index_free(&ai);
}

static void count_changes(const struct tn_config *st, const struct tn_config *ap, struct zone_counts *zc)
{
	size_t i;

	for (i = 0; i < st->nfarms; i++) {
		const struct tn_farm_cfg *f = &st->farms[i];
		const struct tn_farm_cfg *a = tn_config_farm(ap, f->type, f->farm_id);

		if (a)
			count_farm_changes(f, a, farm_zone(st, f), zc);
		else
			zc_add(zc, farm_zone(st, f), 1 + (int)f->nservers);
	}
	for (i = 0; i < ap->nfarms; i++)
		if (!tn_config_farm(st, ap->farms[i].type, ap->farms[i].farm_id))
			zc_add(zc, farm_zone(ap, &ap->farms[i]), 1 + (int)ap->farms[i].nservers);
	for (i = 0; i < st->nfrontends; i++) {
		const struct tn_frontend_cfg *f = &st->frontends[i];
		const struct tn_frontend_cfg *a = tn_config_frontend(ap, f->type, f->frontend_id);

		if (!a || !tn_frontend_equal(a, f))
			zc_add(zc, frontend_zone(st, f), 1);
	}
	for (i = 0; i < ap->nfrontends; i++)
		if (!tn_config_frontend(st, ap->frontends[i].type, ap->frontends[i].frontend_id))
			zc_add(zc, frontend_zone(ap, &ap->frontends[i]), 1);
}

json_object *tn_ctl_pending_json(struct tn_ctl *ctl)
{
	struct zone_counts zc = {0};
	json_object *arr = json_object_new_array();

	ASSERT_STATE_HELD();
	count_changes(&ctl->staged, &ctl->applied, &zc);
	for (size_t i = 0; i < zc.n; i++) {
		json_object *o;

		if (!zc.v[i].n)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "zone", json_object_new_string(zc.v[i].zone));
		json_object_object_add(o, "number", json_object_new_int(zc.v[i].n));
		json_object_array_add(arr, o);
	}
	zc_free(&zc);
	return arr;
}

int tn_ctl_pending_count(struct tn_ctl *ctl, const char *zone)
{
	struct zone_counts zc = {0};
	int n = 0;

	ASSERT_STATE_HELD();
	count_changes(&ctl->staged, &ctl->applied, &zc);
	for (size_t i = 0; i < zc.n; i++)
		if (!zone || !strcmp(zone, zc.v[i].zone))
			n += zc.v[i].n;
	zc_free(&zc);
	return n;
}
