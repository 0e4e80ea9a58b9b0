/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An intrusive hash table: the node lives inside the caller's struct (one
 * struct can sit in several tables), the table keeps each node's full hash,
 * grows by doubling and never moves or frees a node. The caller hashes and
 * compares keys: walk the nodes of one hash with tn_hash_first/tn_hash_next.
 * Not thread-safe: the caller's lock guards it.
 */
#ifndef TENACE_LIB_HASH_H
#define TENACE_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

struct tn_hash_node {
	struct tn_hash_node *next;
	uint64_t hash;
};

struct tn_hash {
	struct tn_hash_node **buckets;
	size_t nbuckets;             /* a power of two, 0 before the first insert */
	size_t n;
};

#define tn_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* An empty table ({0} is one too); fini frees the buckets, never the nodes. */
void tn_hash_init(struct tn_hash *h);
void tn_hash_fini(struct tn_hash *h);
/* 0, or -ENOMEM (only when the first buckets cannot be allocated). */
int tn_hash_insert(struct tn_hash *h, struct tn_hash_node *node, uint64_t hash);
/* The node must be in the table. */
void tn_hash_remove(struct tn_hash *h, struct tn_hash_node *node);
/* The nodes whose hash is `hash`, then the next one of the same hash; NULL at the end. */
struct tn_hash_node *tn_hash_first(const struct tn_hash *h, uint64_t hash);
struct tn_hash_node *tn_hash_next(const struct tn_hash_node *node);

/* Every node once; the node just returned may be removed (nothing inserted meanwhile). */
struct tn_hash_iter {
	const struct tn_hash *h;
	size_t bucket;
	struct tn_hash_node *next;
};
void tn_hash_iter_init(struct tn_hash_iter *it, const struct tn_hash *h);
struct tn_hash_node *tn_hash_iter_next(struct tn_hash_iter *it);

/* A 64-bit hash of bytes (FNV-1a, finished with a 64-bit mix). */
uint64_t tn_hash_bytes(const void *data, size_t len, uint64_t seed);

#endif /* TENACE_LIB_HASH_H */
