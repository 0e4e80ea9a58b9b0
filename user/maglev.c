/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Weighted Maglev. Each server walks its own permutation of the table
 * (offset, skip from its identity tag) and takes the first free entry on its
 * turn. Weights give turns: every round each server earns `weight` credits
 * and takes one entry per `max_weight` credits, so shares follow weights.
 * Servers are ordered by tag first, so input order does not matter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maglev.h"
#include "../headers/tenace.h"

int tn_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

struct walker {
	uint32_t pos;     /* current position in the permutation */
	uint32_t skip;
	uint32_t credit;
	uint16_t weight;
	uint16_t slot;
	uint32_t tag;
};

static int by_tag(const void *a, const void *b)
{
	const struct walker *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

int tn_maglev_build(uint16_t *table, uint32_t size, const struct tn_maglev_server *servers, size_t n)
{
	struct walker *w;
	uint32_t filled = 0, max_weight = 0;
	size_t i, nw = 0;

	if (!tn_is_prime(size) || size < 3 || n >= size || n > TN_MAX_SERVERS)
		return -EINVAL;
	for (i = 0; i < size; i++)
		table[i] = TN_NO_SERVER;
	w = calloc(n ? n : 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (servers[i].weight == 0)
			continue;
		w[nw].tag = servers[i].tag;
		w[nw].slot = servers[i].slot;
		w[nw].weight = servers[i].weight;
		w[nw].pos = tn_fmix(tn_mix(0x4d61676cu, servers[i].tag)) % size;
		w[nw].skip = tn_fmix(tn_mix(0x65765f32u, servers[i].tag)) % (size - 1) + 1;
		if (servers[i].weight > max_weight)
			max_weight = servers[i].weight;
		nw++;
	}
	if (nw == 0) {
		free(w);
		return 0;
	}
	qsort(w, nw, sizeof(*w), by_tag);
	while (filled < size) {
		for (i = 0; i < nw && filled < size; i++) {
			w[i].credit += w[i].weight;
			while (w[i].credit >= max_weight && filled < size) {
				w[i].credit -= max_weight;
				while (table[w[i].pos] != TN_NO_SERVER) {
					w[i].pos += w[i].skip;
					if (w[i].pos >= size)
						w[i].pos -= size;
				}
				table[w[i].pos] = w[i].slot;
				filled++;
			}
		}
	}
	free(w);
	return 0;
}
