/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>
#include "lib/hash.h"

#define FIRST_BUCKETS 64

void tn_hash_init(struct tn_hash *h)
{
	h->buckets = NULL;
	h->nbuckets = h->n = 0;
}

void tn_hash_fini(struct tn_hash *h)
{
	free(h->buckets);
	tn_hash_init(h);
}

static size_t bucket_of(size_t nbuckets, uint64_t hash)
{
	return (size_t)(hash ^ (hash >> 32)) & (nbuckets - 1);
}

/* Double the buckets; on failure the table keeps working with longer chains. */
static void grow(struct tn_hash *h)
{
	size_t nb = h->nbuckets * 2, i;
	struct tn_hash_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < h->nbuckets; i++) {
		while (h->buckets[i]) {
			struct tn_hash_node *n = h->buckets[i];
			size_t j = bucket_of(nb, n->hash);

			h->buckets[i] = n->next;
			n->next = b[j];
			b[j] = n;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

int tn_hash_insert(struct tn_hash *h, struct tn_hash_node *node, uint64_t hash)
{
	size_t i;

	if (!h->nbuckets) {
		h->buckets = calloc(FIRST_BUCKETS, sizeof(*h->buckets));
		if (!h->buckets)
			return -ENOMEM;
		h->nbuckets = FIRST_BUCKETS;
	}
	if (h->n >= h->nbuckets)
		grow(h);
	node->hash = hash;
	i = bucket_of(h->nbuckets, hash);
	node->next = h->buckets[i];
	h->buckets[i] = node;
	h->n++;
	return 0;
}

void tn_hash_remove(struct tn_hash *h, struct tn_hash_node *node)
{
	struct tn_hash_node **p = &h->buckets[bucket_of(h->nbuckets, node->hash)];

	while (*p != node)
		p = &(*p)->next;
	*p = node->next;
	node->next = NULL;
	h->n--;
}

static struct tn_hash_node *same_hash(struct tn_hash_node *n, uint64_t hash)
{
	while (n && n->hash != hash)
		n = n->next;
	return n;
}

struct tn_hash_node *tn_hash_first(const struct tn_hash *h, uint64_t hash)
{
	if (!h->nbuckets)
		return NULL;
	return same_hash(h->buckets[bucket_of(h->nbuckets, hash)], hash);
}

struct tn_hash_node *tn_hash_next(const struct tn_hash_node *node)
{
	return same_hash(node->next, node->hash);
}

void tn_hash_iter_init(struct tn_hash_iter *it, const struct tn_hash *h)
{
	it->h = h;
	it->bucket = 0;
	it->next = h->nbuckets ? h->buckets[0] : NULL;
}

struct tn_hash_node *tn_hash_iter_next(struct tn_hash_iter *it)
{
	struct tn_hash_node *n;

	while (!it->next) {
		if (++it->bucket >= it->h->nbuckets)
			return NULL;
		it->next = it->h->buckets[it->bucket];
	}
	n = it->next;
	it->next = n->next;
	return n;
}

uint64_t tn_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	/* splitmix64's finaliser: every input bit reaches the low bits the buckets use */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}
