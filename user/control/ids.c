/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Lowest free ids for new objects. Moving to config as
 * tn_config_next_farm_id/next_frontend_id/next_server_id: once callers use
 * those, this file goes.
 */
#include <stdlib.h>
#include "control/controller.h"

/*
 * The lowest id from 1 that none of n objects uses (id_of: the object's id,
 * 0 for an object to skip). n objects use at most n ids, so one of 1..n+1
 * is free: never past UINT32_MAX, and a deleted object's id is used again.
 */
struct id_src {
	const struct tn_config *c;
	const struct tn_farm_cfg *f;
	enum tn_l4_type t;
};

static uint32_t lowest_free_id(size_t n, uint32_t (*id_of)(const struct id_src *, size_t), const struct id_src *src)
{
	bool *used = calloc(n + 2, sizeof(*used));
	uint32_t id, max = 0;
	size_t i;

	if (!used) { /* out of memory: one past the highest, if there is one */
		for (i = 0; i < n; i++)
			if (id_of(src, i) > max)
				max = id_of(src, i);
		return max < UINT32_MAX ? max + 1 : 0;
	}
	for (i = 0; i < n; i++)
		if ((id = id_of(src, i)) <= n + 1)
			used[id] = true;
	for (id = 1; used[id]; id++)
		;
	free(used);
	return id;
}

static uint32_t farm_id_of(const struct id_src *s, size_t i)
{
	return s->c->farms[i].type == s->t ? s->c->farms[i].farm_id : 0;
}

static uint32_t frontend_id_of(const struct id_src *s, size_t i)
{
	return s->c->frontends[i].type == s->t ? s->c->frontends[i].frontend_id : 0;
}

static uint32_t server_id_of(const struct id_src *s, size_t i)
{
	return s->f->servers[i].server_id;
}

uint32_t tn_ctl_next_farm_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct id_src s = { .c = c, .t = t };

	return lowest_free_id(c->nfarms, farm_id_of, &s);
}

uint32_t tn_ctl_next_frontend_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct id_src s = { .c = c, .t = t };

	return lowest_free_id(c->nfrontends, frontend_id_of, &s);
}

uint32_t tn_ctl_next_server_id(const struct tn_farm_cfg *f)
{
	struct id_src s = { .f = f };

	return lowest_free_id(f->nservers, server_id_of, &s);
}
