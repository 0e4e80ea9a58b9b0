/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Weighted Maglev. Each server walks its own permutation of the table
 * (offset, skip from its identity tag) and takes the first free entry on its
 * turn. Server i's k-th turn comes at time k / weight_i, and each step goes
 * to the server whose next turn, (taken_i + 1) / weight_i, comes first; equal
 * times go to the lower (tag, slot). So turns interleave in proportion to
 * the weights, and the fill costs O(size log n) whatever the weights.
 *
 * Quotas: each server takes at most its exact share, size * weight_i / sum of
 * weights rounded by largest remainder (the quotas add up to size), and
 * leaves when it has it. So every share is within one entry of exact, even
 * when many light servers all have their turn at the same time.
 *
 * The next server comes from a binary min-heap. Servers of equal weight have
 * the same turn times, so they share one heap node and take their turns
 * round by round in (tag, slot) order: the order of turns is the same as
 * with one node per server, and equal or few distinct weights cost next to
 * nothing. A node's key is its next turn time in fixed point with the
 * (tag, slot) rank of the server whose turn it is in the low bits (see
 * "Turn keys" below): one integer compare orders two turns exactly.
 *
 * Servers are ranked by (tag, slot, weight) first, so input order does not
 * matter: the same servers in any order give the same table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/maglev.h"
#include "tenace.h"

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

/*
 * Turn keys. The time r / w (1 <= r <= size, 1 <= w <= 65535) is kept as
 * floor(r * 2^32 / w), which orders times exactly: two different times
 * differ by at least 1 / (w_a * w_b) > 2^-32, so their fixed-point values
 * differ by more than 1 and cannot floor to the same or to the wrong order;
 * equal times give equal values. Below the time, RANK_BITS hold the rank of
 * the server, which breaks ties. r < 2^20 (size <= TN_TABLE_SIZE_MAX) keeps
 * the key under 2^62.
 */
#define RANK_BITS 10
#define RANK_MASK ((1u << RANK_BITS) - 1)

_Static_assert(TN_MAX_SERVERS <= 1u << RANK_BITS, "a server rank must fit in RANK_BITS");
_Static_assert(TN_TABLE_SIZE_MAX < 1u << (64 - 32 - RANK_BITS), "turn keys must fit in 64 bits");

struct walker {
	uint32_t pos;     /* current position in the permutation */
	uint32_t skip;
	uint32_t quota;   /* entries to take in all */
	uint32_t group;   /* the heap node of its weight */
	uint32_t tag;
	uint16_t weight;
	uint16_t slot;
};

/* Servers of one weight, taking turns round by round. */
struct group {
	uint32_t first;   /* members: ranks member[first..first + count), ascending */
	uint32_t count;
	uint32_t active;  /* members still taking: a prefix (see groups_build) */
	uint32_t next;    /* member whose turn it is, in [0, active) */
	uint32_t round;   /* entries each active member has taken */
	uint32_t weight;
	uint64_t time;    /* floor((round + 1) * 2^32 / weight) */
	uint64_t step;    /* floor(2^32 / weight) */
	uint32_t frac;    /* 2^32 mod weight */
	uint32_t acc;     /* (round + 1) * 2^32 mod weight */
};

static int by_tag(const void *a, const void *b)
{
	const struct walker *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->weight < y->weight ? -1 : x->weight > y->weight;
}

/* A value to sort ranks by: qsort has no context argument (and a static
 * one would make builds on two threads race). */
struct ranked {
	uint64_t v;
	uint32_t rank;
};

/* Largest remainder first, then rank. */
static int by_remainder(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* By weight, then rank. */
static int by_weight(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * Exact shares by largest remainder (ties to the lower rank): the quotas add
 * up to size. order is scratch space for nw entries.
 */
static void set_quotas(struct walker *w, uint32_t nw, uint32_t size, struct ranked *order)
{
	uint64_t total = 0, given = 0;
	uint32_t i;

	for (i = 0; i < nw; i++)
		total += w[i].weight;
	for (i = 0; i < nw; i++) {
		uint64_t share = (uint64_t)size * w[i].weight;

		w[i].quota = (uint32_t)(share / total);
		order[i].v = share % total;
		order[i].rank = i;
		given += w[i].quota;
	}
	if (given == size)
		return;
	/* size - given < nw: one more entry each for the largest remainders */
	qsort(order, nw, sizeof(*order), by_remainder);
	for (i = 0; given < size; i++, given++)
		w[order[i].rank].quota++;
}

static inline uint64_t turn_key(const struct group *g, const uint32_t *member)
{
	return g->time << RANK_BITS | member[g->first + g->next];
}

/*
 * The root's key grew: move it down. heap[len..] hold UINT64_MAX, so every
 * node above the last level has two children, and the walk always runs
 * `depth` levels with no data-dependent exit (cheaper than mispredicting
 * it): once the key has its place, the smaller child is larger and nothing
 * moves any more.
 */
static inline void sift_root(uint64_t *heap, unsigned depth)
{
	uint64_t x = heap[0];
	size_t i = 0;

	while (depth--) {
		size_t c = 2 * i + 1;
		uint64_t l = heap[c], r = heap[c + 1];
		uint64_t v = r < l ? r : l;
		size_t m = r < l ? c + 1 : c;
		int go = v < x;

		heap[i] = go ? v : x;
		i = go ? m : i;
	}
	heap[i] = x;
}

static void sift_down(uint64_t *heap, size_t len, size_t i)
{
	uint64_t x = heap[i];
	size_t c;

	while ((c = 2 * i + 1) < len) {
		if (c + 1 < len && heap[c + 1] < heap[c])
			c++;
		if (x < heap[c])
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = x;
}

static unsigned heap_depth(size_t len)
{
	return len > 1 ? 63 - (unsigned)__builtin_clzll(len) : 0;
}

/* The servers with a weight, their permutation of the table: how many. */
static uint32_t walkers_init(struct walker *w, const struct tn_maglev_server *servers, size_t n, uint32_t size)
{
	uint32_t nw = 0;

	for (size_t i = 0; i < n; i++) {
		if (servers[i].weight == 0)
			continue;
		w[nw].tag = servers[i].tag;
		w[nw].slot = servers[i].slot;
		w[nw].weight = servers[i].weight;
		w[nw].pos = tn_fmix(tn_mix(0x4d61676cu, servers[i].tag)) % size;
		w[nw].skip = tn_fmix(tn_mix(0x65765f32u, servers[i].tag)) % (size - 1) + 1;
		nw++;
	}
	return nw;
}

/*
 * Groups: the servers of each weight, by rank; those with no entry to take
 * left out. Equal weights have equal remainders, so a weight's extra entries
 * went to its lowest ranks: quotas never grow along a group, and the members
 * still taking in any round are a prefix. Returns the number of groups.
 */
static uint32_t groups_build(struct walker *w, uint32_t nw, struct ranked *order, uint32_t *member,
			     struct group *grp)
{
	uint32_t i, nm = 0, ng = 0;

	for (i = 0; i < nw; i++)
		if (w[i].quota)
			order[nm++] = (struct ranked){ .v = w[i].weight, .rank = i };
	qsort(order, nm, sizeof(*order), by_weight);
	for (i = 0; i < nm; i++)
		member[i] = order[i].rank;
	for (i = 0; i < nm; i++) {
		struct group *g = &grp[ng];

		if (i > 0 && w[member[i]].weight == w[member[i - 1]].weight) {
			g[-1].count++;
			w[member[i]].group = ng - 1;
			continue;
		}
		g->first = i;
		g->count = 1;
		g->weight = w[member[i]].weight;
		g->step = (1ull << 32) / g->weight;
		g->frac = (uint32_t)((1ull << 32) % g->weight);
		g->time = g->step;
		g->acc = g->frac;
		w[member[i]].group = ng++;
	}
	return ng;
}

/* One node per group, heapified; the n + 2 slots after them UINT64_MAX. */
static size_t heap_init(uint64_t *heap, size_t n, struct group *grp, uint32_t ng, const uint32_t *member)
{
	size_t len, i;

	for (i = 0; i < 2 * n + 2; i++)
		heap[i] = UINT64_MAX;
	for (len = 0; len < ng; len++) {
		grp[len].active = grp[len].count;
		heap[len] = turn_key(&grp[len], member);
	}
	for (i = len / 2; i-- > 0;)
		sift_down(heap, len, i);
	return len;
}

/* After the last member of a group took its turn: the next round, without
 * those that have their quota. false when the whole group is done. */
static inline bool group_next_round(struct group *g, const struct walker *w, const uint32_t *member)
{
	uint32_t carry;

	g->next = 0;
	g->round++;
	while (g->active && w[member[g->first + g->active - 1]].quota <= g->round)
		g->active--;
	if (!g->active)
		return false;
	/* time += 2^32 / weight, exactly */
	g->acc += g->frac;
	carry = g->acc >= g->weight;
	g->acc -= carry ? g->weight : 0;
	g->time += g->step + carry;
	return true;
}

/*
 * The quotas add up to size: the table is full when the heap is empty, and
 * a server still in it always finds a free entry on its walk.
 */
static void fill(uint16_t *table, uint32_t size, struct walker *w, struct group *grp, const uint32_t *member,
		 uint64_t *heap, size_t len)
{
	unsigned depth = heap_depth(len);

	while (len) {
		struct walker *c = &w[heap[0] & RANK_MASK];
		struct group *g = &grp[c->group];

		while (table[c->pos] != TN_NO_SERVER) {
			c->pos += c->skip;
			if (c->pos >= size)
				c->pos -= size;
		}
		table[c->pos] = c->slot;
		if (++g->next == g->active && !group_next_round(g, w, member)) {
			heap[0] = heap[--len];
			heap[len] = UINT64_MAX;
			depth = heap_depth(len);
			sift_root(heap, depth);
			continue;
		}
		heap[0] = turn_key(g, member);
		sift_root(heap, depth);
	}
}

int tn_maglev_build(uint16_t *table, uint32_t size, const struct tn_maglev_server *servers, size_t n)
{
	struct walker *w = NULL;
	struct group *grp = NULL;
	struct ranked *order = NULL;
	uint32_t *member = NULL, nw, ng, i;
	uint64_t *heap = NULL;
	int err = 0;

	if (!tn_is_prime(size) || size < 3 || size > TN_TABLE_SIZE_MAX || n >= size || n > TN_MAX_SERVERS)
		return -EINVAL;
	for (i = 0; i < size; i++)
		table[i] = TN_NO_SERVER;
	if (n == 0)
		return 0;
	w = calloc(n, sizeof(*w));
	grp = calloc(n, sizeof(*grp));
	order = calloc(n, sizeof(*order));
	member = calloc(n, sizeof(*member));
	heap = malloc((2 * n + 2) * sizeof(*heap));
	if (!w || !grp || !order || !member || !heap) {
		err = -ENOMEM;
		goto out;
	}
	nw = walkers_init(w, servers, n, size);
	if (nw == 0)
		goto out;
	/* from here on a server is known by its rank, its index in w */
	qsort(w, nw, sizeof(*w), by_tag);
	set_quotas(w, nw, size, order);
	ng = groups_build(w, nw, order, member, grp);
	fill(table, size, w, grp, member, heap, heap_init(heap, n, grp, ng, member));
out:
	free(heap);
	free(member);
	free(order);
	free(grp);
	free(w);
	return err;
}
