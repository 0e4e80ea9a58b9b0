/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lib/hash: the intrusive table the controller keeps its servers and MAC
 * resolutions in. Lookups through colliding hashes, growth past many
 * doublings with every node still found once, removal while iterating.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/hash.h"

struct item {
	struct tn_hash_node node;
	uint32_t key;
	int seen;
};

static struct item *find(struct tn_hash *h, uint64_t hash, uint32_t key)
{
	for (struct tn_hash_node *n = tn_hash_first(h, hash); n; n = tn_hash_next(n)) {
		struct item *it = tn_container_of(n, struct item, node);

		if (it->key == key)
			return it;
	}
	return NULL;
}

static uint64_t hash_of(uint32_t key)
{
	return tn_hash_bytes(&key, sizeof(key), 0);
}

static void lookups_and_growth(void **state)
{
	enum { N = 10000 };
	struct item *items = calloc(N, sizeof(*items));
	struct tn_hash h;
	struct tn_hash_iter it;
	struct tn_hash_node *n;
	size_t count = 0;

	tn_hash_init(&h);
	assert_null(tn_hash_first(&h, 1));
	for (uint32_t i = 0; i < N; i++) {
		items[i].key = i;
		assert_int_equal(tn_hash_insert(&h, &items[i].node, hash_of(i)), 0);
	}
	assert_int_equal(h.n, N);
	assert_true(h.nbuckets >= N);   /* grew from 64 */
	for (uint32_t i = 0; i < N; i++)
		assert_ptr_equal(find(&h, hash_of(i), i), &items[i]);
	assert_null(find(&h, hash_of(N + 1), N + 1));
	tn_hash_iter_init(&it, &h);
	while ((n = tn_hash_iter_next(&it))) {
		tn_container_of(n, struct item, node)->seen++;
		count++;
	}
	assert_int_equal(count, N);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(items[i].seen, 1);
	tn_hash_fini(&h);
	free(items);
}

/* Every node in one chain under one hash: the key decides, not the hash. */
static void colliding_hashes(void **state)
{
	struct item items[50];
	struct tn_hash h = {0};

	memset(items, 0, sizeof(items));
	for (uint32_t i = 0; i < 50; i++) {
		items[i].key = i;
		assert_int_equal(tn_hash_insert(&h, &items[i].node, 42), 0);
	}
	for (uint32_t i = 0; i < 50; i++)
		assert_ptr_equal(find(&h, 42, i), &items[i]);
	tn_hash_remove(&h, &items[25].node);
	assert_null(find(&h, 42, 25));
	assert_ptr_equal(find(&h, 42, 26), &items[26]);
	assert_int_equal(h.n, 49);
	tn_hash_fini(&h);
}

static void remove_while_iterating(void **state)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct tn_hash h = {0};
	struct tn_hash_iter it;
	struct tn_hash_node *n;

	for (uint32_t i = 0; i < N; i++) {
		items[i].key = i;
		assert_int_equal(tn_hash_insert(&h, &items[i].node, hash_of(i)), 0);
	}
	tn_hash_iter_init(&it, &h);
	while ((n = tn_hash_iter_next(&it)))
		if (tn_container_of(n, struct item, node)->key % 2)
			tn_hash_remove(&h, n);
	assert_int_equal(h.n, N / 2);
	for (uint32_t i = 0; i < N; i++) {
		if (i % 2)
			assert_null(find(&h, hash_of(i), i));
		else
			assert_ptr_equal(find(&h, hash_of(i), i), &items[i]);
	}
	tn_hash_fini(&h);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookups_and_growth),
		cmocka_unit_test(colliding_hashes),
		cmocka_unit_test(remove_while_iterating),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
