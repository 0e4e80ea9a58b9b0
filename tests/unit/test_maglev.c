/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Weighted Maglev table builder (user/maglev.c): sizes, fill, weights,
 * determinism and disruption. The build time is printed as a BENCH line,
 * never asserted: a loaded CI machine must not fail a correctness suite.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "dataplane/maglev.h"
#include "tenace.h"

#define SIZE TN_TABLE_SIZE_DEFAULT

static uint16_t *table_a, *table_b;

static int setup(void **state)
{
	table_a = calloc(TN_TABLE_SIZE_MAX, sizeof(uint16_t));
	table_b = calloc(TN_TABLE_SIZE_MAX, sizeof(uint16_t));
	return table_a && table_b ? 0 : -1;
}

static int teardown(void **state)
{
	free(table_a);
	free(table_b);
	return 0;
}

/* n servers, tags from a fixed sequence, slot = index, weight from w (or 1) */
static void make_servers(struct tn_maglev_server *s, size_t n, const uint16_t *w)
{
	for (size_t i = 0; i < n; i++) {
		s[i].tag = tn_fmix(0x5eed0000u + (uint32_t)i) | 1;
		s[i].slot = (uint16_t)i;
		s[i].weight = w ? w[i] : 1;
	}
}

static void count_slots(const uint16_t *t, uint32_t size, size_t *counts, size_t n, size_t *empty)
{
	memset(counts, 0, n * sizeof(*counts));
	*empty = 0;
	for (uint32_t i = 0; i < size; i++) {
		if (t[i] == TN_NO_SERVER)
			(*empty)++;
		else if (t[i] < n)
			counts[t[i]]++;
		else
			fail_msg("entry %u holds slot %u, no such server", i, t[i]);
	}
}

static void test_prime_sizes(void **state)
{
	static const uint32_t primes[] = { 2, 3, 5, 1021, 65537, 131071, 655373, 999983 };
	static const uint32_t composites[] = { 0, 1, 4, 9, 65535, 65539 * 3, 655371, 1000000, 4294967295u };
	struct tn_maglev_server s[3];

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		assert_true(tn_is_prime(primes[i]));
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++)
		assert_false(tn_is_prime(composites[i]));
	assert_true(tn_is_prime(TN_TABLE_SIZE_DEFAULT));
	assert_true(tn_is_prime(TN_TABLE_SIZE_MAX));

	make_servers(s, 3, NULL);
	assert_int_equal(tn_maglev_build(table_a, 65535, s, 3), -EINVAL);   /* not prime */
	assert_int_equal(tn_maglev_build(table_a, 1000, s, 3), -EINVAL);
	assert_int_equal(tn_maglev_build(table_a, 3, s, 3), -EINVAL);       /* n >= size */
	assert_int_equal(tn_maglev_build(table_a, 1021, s, 3), 0);
	assert_int_equal(tn_maglev_build(table_a, TN_TABLE_SIZE_MAX, s, 3), 0);
	assert_int_equal(tn_maglev_build(table_a, 999983, s, 3), -EINVAL);  /* > max */
}

static void test_every_entry_filled(void **state)
{
	static const size_t ns[] = { 1, 2, 3, 10, 100, 1000 };
	static const uint32_t sizes[] = { 1021, SIZE, TN_TABLE_SIZE_MAX };
	struct tn_maglev_server s[1000];
	size_t counts[1000], empty;

	for (size_t si = 0; si < 3; si++) {
		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			size_t n = ns[k];

			if (n >= sizes[si])
				continue;
			make_servers(s, n, NULL);
			assert_int_equal(tn_maglev_build(table_a, sizes[si], s, n), 0);
			count_slots(table_a, sizes[si], counts, n, &empty);
			assert_int_equal(empty, 0);
			for (size_t i = 0; i < n; i++)
				if (counts[i] == 0)
					fail_msg("size %u, %zu servers: server %zu owns no entry", sizes[si], n, i);
		}
	}
}

static void test_no_server_means_empty_table(void **state)
{
	struct tn_maglev_server s[4] = { 0 };
	size_t counts[4], empty;
	uint16_t zero[4] = { 0, 0, 0, 0 };

	assert_int_equal(tn_maglev_build(table_a, SIZE, s, 0), 0);
	count_slots(table_a, SIZE, counts, 0, &empty);
	assert_int_equal(empty, SIZE);
	make_servers(s, 4, zero);
	assert_int_equal(tn_maglev_build(table_a, SIZE, s, 4), 0);
	count_slots(table_a, SIZE, counts, 4, &empty);
	assert_int_equal(empty, SIZE);
}

/* share of server i = w_i / sum(w), within 0.2 % of the table for each server */
static void check_weights(const uint16_t *w, size_t n, uint32_t size)
{
	struct tn_maglev_server s[256];
	size_t counts[256], empty;
	double sum = 0, worst = 0;

	make_servers(s, n, w);
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	assert_int_equal(tn_maglev_build(table_a, size, s, n), 0);
	count_slots(table_a, size, counts, n, &empty);
	assert_int_equal(empty, 0);
	for (size_t i = 0; i < n; i++) {
		double want = w[i] / sum, got = (double)counts[i] / size;
		double d = got > want ? got - want : want - got;

		if (d > worst)
			worst = d;
		if (d > 0.002)
			fail_msg("%zu servers, size %u: server %zu weight %u has share %.4f, want %.4f",
				 n, size, i, w[i], got, want);
		if (fabs(counts[i] - want * size) >= 1)
			fail_msg("%zu servers, size %u: server %zu weight %u owns %zu entries, exact share %.3f",
				 n, size, i, w[i], counts[i], want * size);
	}
	printf("# weights over %zu servers, size %u: worst share error %.5f\n", n, size, worst);
}

static void test_shares_follow_weights(void **state)
{
	uint16_t w[256];

	for (size_t i = 0; i < 10; i++)
		w[i] = (uint16_t)(i + 1);             /* 1, 2, ..., 10 */
	check_weights(w, 10, SIZE);
	check_weights(w, 10, TN_TABLE_SIZE_MAX);
	for (size_t i = 0; i < 4; i++)
		w[i] = (uint16_t[]){ 256, 1, 128, 7 }[i];
	check_weights(w, 4, SIZE);
	for (size_t i = 0; i < 100; i++)
		w[i] = (uint16_t)(1 + (i * 37) % 256);
	check_weights(w, 100, SIZE);
	for (size_t i = 0; i < 5; i++)
		w[i] = 100;                           /* equal weights, not 1 */
	check_weights(w, 5, SIZE);
}

static void test_weight_zero_absent(void **state)
{
	struct tn_maglev_server s[10];
	size_t counts[10], empty;

	make_servers(s, 10, NULL);
	s[3].weight = 0;
	s[7].weight = 0;
	assert_int_equal(tn_maglev_build(table_a, SIZE, s, 10), 0);
	count_slots(table_a, SIZE, counts, 10, &empty);
	assert_int_equal(empty, 0);
	assert_int_equal(counts[3], 0);
	assert_int_equal(counts[7], 0);
	for (size_t i = 0; i < 10; i++)
		if (i != 3 && i != 7)
			assert_true(counts[i] > SIZE / 8 - SIZE / 100);
}

static void test_deterministic(void **state)
{
	struct tn_maglev_server s[50], r[50];
	uint16_t w[50];

	for (size_t i = 0; i < 50; i++)
		w[i] = (uint16_t)(1 + i % 7);
	make_servers(s, 50, w);
	assert_int_equal(tn_maglev_build(table_a, SIZE, s, 50), 0);
	assert_int_equal(tn_maglev_build(table_b, SIZE, s, 50), 0);
	assert_memory_equal(table_a, table_b, SIZE * sizeof(uint16_t));

	/* same servers, reversed and then shuffled order: identical table */
	for (size_t i = 0; i < 50; i++)
		r[i] = s[49 - i];
	assert_int_equal(tn_maglev_build(table_b, SIZE, r, 50), 0);
	assert_memory_equal(table_a, table_b, SIZE * sizeof(uint16_t));
	srand(7);
	for (size_t i = 49; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		struct tn_maglev_server t = r[i];

		r[i] = r[j];
		r[j] = t;
	}
	assert_int_equal(tn_maglev_build(table_b, SIZE, r, 50), 0);
	assert_memory_equal(table_a, table_b, SIZE * sizeof(uint16_t));
}

/* Removing one of n servers: its entries move (1/n), and few others do. */
static void check_removal(size_t n, size_t victim)
{
	struct tn_maglev_server s[100], t[100];
	size_t moved = 0, moved_other = 0;
	double frac, bound;

	make_servers(s, n, NULL);
	assert_int_equal(tn_maglev_build(table_a, SIZE, s, n), 0);
	for (size_t i = 0, j = 0; i < n; i++)
		if (i != victim)
			t[j++] = s[i];
	assert_int_equal(tn_maglev_build(table_b, SIZE, t, n - 1), 0);
	for (uint32_t i = 0; i < SIZE; i++) {
		if (table_b[i] == victim)
			fail_msg("removed server %zu still owns entry %u", victim, i);
		if (table_a[i] != table_b[i]) {
			moved++;
			if (table_a[i] != victim)
				moved_other++;
		}
	}
	frac = (double)moved / SIZE;
	/* Maglev moves the victim's 1/n plus a little churn between survivors */
	bound = 1.0 / n + 0.02;
	printf("# remove 1 of %zu: %.4f of entries changed (1/n = %.4f), %.4f between survivors\n",
	       n, frac, 1.0 / n, (double)moved_other / SIZE);
	if (frac > bound)
		fail_msg("removing 1 of %zu servers changed %.4f of the table (bound %.4f)", n, frac, bound);
	assert_true(frac >= 1.0 / n - 0.01);
}

static void test_removal_disruption(void **state)
{
	check_removal(5, 2);
	check_removal(10, 0);
	check_removal(10, 9);
	check_removal(50, 17);
	check_removal(100, 42);
}

/* Adding a server takes about 1/(n+1) of the table; a little churn among
 * the others is the price of Maglev's balance, bounded here. */
static void test_addition_disruption(void **state)
{
	struct tn_maglev_server s[11];
	size_t moved = 0, to_new = 0;

	make_servers(s, 11, NULL);
	assert_int_equal(tn_maglev_build(table_a, SIZE, s, 10), 0);
	assert_int_equal(tn_maglev_build(table_b, SIZE, s, 11), 0);
	for (uint32_t i = 0; i < SIZE; i++)
		if (table_a[i] != table_b[i]) {
			moved++;
			to_new += table_b[i] == 10;
		}
	printf("# add 1 to 10: %.4f of entries changed, %.4f to the newcomer\n",
	       (double)moved / SIZE, (double)to_new / SIZE);
	assert_true((double)to_new / SIZE >= 1.0 / 11 - 0.005);
	assert_true((double)moved / SIZE <= 1.0 / 11 + 0.02);
}

static void test_slot_values_used(void **state)
{
	struct tn_maglev_server s[3] = {
		{ .tag = 11, .weight = 1, .slot = 700 },
		{ .tag = 22, .weight = 1, .slot = 5 },
		{ .tag = 33, .weight = 2, .slot = 1023 },
	};
	size_t c700 = 0, c5 = 0, c1023 = 0;

	assert_int_equal(tn_maglev_build(table_a, 1021, s, 3), 0);
	for (uint32_t i = 0; i < 1021; i++) {
		if (table_a[i] == 700)
			c700++;
		else if (table_a[i] == 5)
			c5++;
		else if (table_a[i] == 1023)
			c1023++;
		else
			fail_msg("entry %u holds %u", i, table_a[i]);
	}
	assert_true(c1023 > c700 && c1023 > c5);
}

/*
 * One heavy server among many light ones (1 x 256 + 999 x 1): the shares
 * still follow the weights to within one entry, and the build does not walk
 * every light server on each of the heavy one's turns. Its time is printed,
 * never asserted.
 */
static void check_skewed(uint32_t size)
{
	static struct tn_maglev_server s[1000];
	static uint16_t w[1000];
	static size_t counts[1000];
	size_t empty;
	double sum = 0, worst = 0, best = 1e9;
	struct timespec a, b;

	for (size_t i = 0; i < 1000; i++)
		w[i] = i == 0 ? 256 : 1;
	make_servers(s, 1000, w);
	for (size_t i = 0; i < 1000; i++)
		sum += w[i];
	for (int rep = 0; rep < 5; rep++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(tn_maglev_build(table_a, size, s, 1000), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
		if (ms < best)
			best = ms;
	}
	count_slots(table_a, size, counts, 1000, &empty);
	assert_int_equal(empty, 0);
	for (size_t i = 0; i < 1000; i++) {
		double want = w[i] * size / sum, d = fabs(counts[i] - want);

		if (d > worst)
			worst = d;
		if (d >= 1)
			fail_msg("size %u, 1 x 256 + 999 x 1: server %zu weight %u owns %zu entries, exact share %.3f",
				 size, i, w[i], counts[i], want);
	}
	printf("# skewed 1 x 256 + 999 x 1, size %u: heavy server owns %zu entries (exact %.3f), "
	       "worst error %.3f entries\n", size, counts[0], 256 * size / sum, worst);
	printf("# BENCH maglev_build size=%u servers=1000 weights=1x256+999x1 best=%.3f ms (sanitized build)\n",
	       size, best);
}

static void test_skewed_weights(void **state)
{
	check_skewed(SIZE);
	check_skewed(TN_TABLE_SIZE_MAX);
}

/*
 * The specification, the slow way: rank servers by (tag, slot, weight);
 * quotas are size * w / sum(w) rounded down, plus one for the largest
 * remainders (ties to the lower rank); then, one entry at a time, the server
 * with entries left whose next turn (taken + 1) / w comes first (equal
 * turns: lower rank) takes the next free entry of its permutation.
 * O(size * n): only for checking tn_maglev_build byte for byte.
 */
struct ref_server {
	struct tn_maglev_server s;
	uint32_t pos, skip, taken, quota;
	uint64_t rem;
};

static int ref_by_rank(const void *a, const void *b)
{
	const struct tn_maglev_server *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->weight < y->weight ? -1 : x->weight > y->weight;
}

static void ref_build(uint16_t *t, uint32_t size, const struct tn_maglev_server *in, size_t n)
{
	struct ref_server *r = calloc(n ? n : 1, sizeof(*r));
	uint64_t total = 0, given = 0;
	size_t m = 0;

	assert_non_null(r);
	for (uint32_t e = 0; e < size; e++)
		t[e] = TN_NO_SERVER;
	for (size_t i = 0; i < n; i++)
		if (in[i].weight)
			r[m++].s = in[i];
	qsort(r, m, sizeof(*r), ref_by_rank);   /* s is the first member */
	for (size_t i = 0; i < m; i++)
		total += r[i].s.weight;
	for (size_t i = 0; i < m; i++) {
		r[i].quota = (uint32_t)((uint64_t)size * r[i].s.weight / total);
		r[i].rem = (uint64_t)size * r[i].s.weight % total;
		r[i].pos = tn_fmix(tn_mix(0x4d61676cu, r[i].s.tag)) % size;
		r[i].skip = tn_fmix(tn_mix(0x65765f32u, r[i].s.tag)) % (size - 1) + 1;
		given += r[i].quota;
	}
	for (; m && given < size; given++) {
		size_t best = SIZE_MAX;

		for (size_t i = 0; i < m; i++)
			if (!r[i].taken && (best == SIZE_MAX || r[i].rem > r[best].rem))
				best = i;
		r[best].quota++;
		r[best].taken = 1;   /* marks "had its extra entry" */
	}
	for (size_t i = 0; i < m; i++)
		r[i].taken = 0;
	for (uint32_t filled = 0; m && filled < size; filled++) {
		size_t c = SIZE_MAX;

		for (size_t i = 0; i < m; i++) {
			if (r[i].taken == r[i].quota)
				continue;
			if (c == SIZE_MAX ||
			    (uint64_t)(r[i].taken + 1) * r[c].s.weight < (uint64_t)(r[c].taken + 1) * r[i].s.weight)
				c = i;
		}
		while (t[r[c].pos] != TN_NO_SERVER)
			r[c].pos = (r[c].pos + r[c].skip) % size;
		t[r[c].pos] = r[c].s.slot;
		r[c].taken++;
	}
	free(r);
}

static void check_reference(const char *what, uint32_t size, const struct tn_maglev_server *s, size_t n)
{
	assert_int_equal(tn_maglev_build(table_a, size, s, n), 0);
	ref_build(table_b, size, s, n);
	for (uint32_t e = 0; e < size; e++)
		if (table_a[e] != table_b[e])
			fail_msg("%s, size %u, %zu servers: entry %u is %u, the specification says %u",
				 what, size, n, e, table_a[e], table_b[e]);
}

static void test_matches_specification(void **state)
{
	static struct tn_maglev_server s[1000];
	static uint16_t w[1000];

	srand(11);
	for (size_t i = 0; i < 60; i++)
		w[i] = (uint16_t)(1 + rand() % 256);
	make_servers(s, 60, w);
	check_reference("random weights 1..256", SIZE, s, 60);
	check_reference("random weights 1..256", 1021, s, 60);

	for (size_t i = 0; i < 60; i++)
		w[i] = (uint16_t)(1 + i % 3);             /* few weights, many of each */
	make_servers(s, 60, w);
	s[5].weight = 0;
	check_reference("weights 1, 2, 3 and one 0", SIZE, s, 60);

	for (size_t i = 0; i < 8; i++)
		w[i] = (uint16_t[]){ 65535, 1, 65534, 2, 40000, 3, 65535, 1 }[i];
	make_servers(s, 8, w);                         /* extreme weights, largest table */
	check_reference("extreme weights", TN_TABLE_SIZE_MAX, s, 8);
	check_reference("extreme weights", 1021, s, 8);

	for (size_t i = 0; i < 1000; i++)
		w[i] = i == 0 ? 256 : 1;
	make_servers(s, 1000, w);
	check_reference("1 x 256 + 999 x 1", 10007, s, 1000);

	for (size_t i = 0; i < 40; i++)
		w[i] = 7;
	make_servers(s, 40, w);
	s[9].tag = s[10].tag;                          /* same tag: slot decides */
	check_reference("equal weights, a shared tag", SIZE, s, 40);
}

/* Not a test: the build time, for `make bench` readers of the logs. */
/* The largest case the data plane takes: 1000 servers of random weights in
 * the largest table. Every entry filled and every share within one entry of
 * its exact quota; the time is printed for the reader, never asserted (make
 * bench measures it against its target). */
static void test_largest_table_1000_servers(void **state)
{
	static struct tn_maglev_server s[1000];
	static uint16_t w[1000];
	static size_t counts[1000];
	struct timespec a, b;
	double sum = 0, ms;
	size_t empty;
	uint32_t x = 12345;

	for (size_t i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		w[i] = (uint16_t)(1 + (x >> 16) % 256);
		sum += w[i];
	}
	make_servers(s, 1000, w);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(tn_maglev_build(table_a, TN_TABLE_SIZE_MAX, s, 1000), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	count_slots(table_a, TN_TABLE_SIZE_MAX, counts, 1000, &empty);
	assert_int_equal(empty, 0);
	for (size_t i = 0; i < 1000; i++) {
		double exact = w[i] / sum * TN_TABLE_SIZE_MAX;

		if (fabs(counts[i] - exact) >= 1)
			fail_msg("server %zu weight %u owns %zu entries, exact share %.3f", i, w[i], counts[i], exact);
	}
	printf("# maglev_build size=%u servers=1000 %.3f ms (sanitized build, not asserted)\n",
	       TN_TABLE_SIZE_MAX, ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime_sizes),
		cmocka_unit_test(test_every_entry_filled),
		cmocka_unit_test(test_no_server_means_empty_table),
		cmocka_unit_test(test_shares_follow_weights),
		cmocka_unit_test(test_weight_zero_absent),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_removal_disruption),
		cmocka_unit_test(test_addition_disruption),
		cmocka_unit_test(test_slot_values_used),
		cmocka_unit_test(test_skewed_weights),
		cmocka_unit_test(test_matches_specification),
		cmocka_unit_test(test_largest_table_1000_servers),
	};

	return cmocka_run_group_tests_name("maglev", tests, setup, teardown);
}
