// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Ids: the lowest id from 1 that no object of its kind uses. One walk over
 * the sorted used ids serves both a document's absent ids (given in file
 * order) and the API's next id, so the two never disagree.
 */
#include <errno.h>
#include <stdlib.h>

#include "config/internal.h"

/* Free ids in increasing order, skipping used[] (sorted, zeros ignored). */
struct free_ids {
	const uint32_t *used;
	size_t n, j;
	uint64_t next; /* 64 bits: going past UINT32_MAX must not wrap to 0 */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The next free id, or 0 when every id up to UINT32_MAX is taken. */
static uint32_t free_ids_take(struct free_ids *f)
{
	for (; f->next <= UINT32_MAX; f->next++) {
		while (f->j < f->n && f->used[f->j] < f->next)
			f->j++;
		if (f->j == f->n || f->used[f->j] != f->next)
			return (uint32_t)f->next++;
	}
	return 0;
}

static void free_ids_init(struct free_ids *f, uint32_t *used, size_t n)
{
	qsort(used, n, sizeof(*used), cmp_u32);
	*f = (struct free_ids){ .used = used, .n = n, .next = 1 };
}

int tn_cfg_assign_ids(uint32_t **ids, size_t n)
{
	struct free_ids fi;
	uint32_t *used;
	size_t i, m = 0;
	int rc = 0;

	used = malloc((n ? n : 1) * sizeof(*used));
	if (!used)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (*ids[i])
			used[m++] = *ids[i];
	free_ids_init(&fi, used, m);
	for (i = 0; i < n && !rc; i++)
		if (!*ids[i] && !(*ids[i] = free_ids_take(&fi)))
			rc = -ENOSPC;
	free(used);
	return rc;
}

/* Without memory for the sorted list: the same answer, by rescanning. */
static uint32_t lowest_free_slow(uint32_t (*id_of)(const void *, size_t), const void *src, size_t n)
{
	uint64_t id;
	size_t i;

	for (id = 1; id <= UINT32_MAX; id++) {
		for (i = 0; i < n && id_of(src, i) != id; i++)
			;
		if (i == n)
			return (uint32_t)id;
	}
	return 0;
}

/* id_of: the id of object i, 0 for an object that does not count. */
static uint32_t lowest_free(uint32_t (*id_of)(const void *, size_t), const void *src, size_t n)
{
	uint32_t *used = malloc((n ? n : 1) * sizeof(*used)), id;
	struct free_ids fi;
	size_t i, m = 0;

	if (!used)
		return lowest_free_slow(id_of, src, n);
	for (i = 0; i < n; i++)
		if ((id = id_of(src, i)))
			used[m++] = id;
	free_ids_init(&fi, used, m);
	id = free_ids_take(&fi);
	free(used);
	return id;
}

struct typed {
	const struct tn_config *c;
	enum tn_l4_type t;
};

static uint32_t farm_id_of(const void *src, size_t i)
{
	const struct typed *s = src;

	return s->c->farms[i].type == s->t ? s->c->farms[i].farm_id : 0;
}

static uint32_t frontend_id_of(const void *src, size_t i)
{
	const struct typed *s = src;

	return s->c->frontends[i].type == s->t ? s->c->frontends[i].frontend_id : 0;
}

static uint32_t server_id_of(const void *src, size_t i)
{
	return ((const struct tn_farm_cfg *)src)->servers[i].server_id;
}

uint32_t tn_config_next_farm_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct typed s = { .c = c, .t = t };

	return lowest_free(farm_id_of, &s, c->nfarms);
}

uint32_t tn_config_next_frontend_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct typed s = { .c = c, .t = t };

	return lowest_free(frontend_id_of, &s, c->nfrontends);
}

uint32_t tn_config_next_server_id(const struct tn_farm_cfg *f)
{
	return lowest_free(server_id_of, f, f->nservers);
}
