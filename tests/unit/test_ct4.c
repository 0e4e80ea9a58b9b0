/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * conntrack4's packed entries (headers/tenace.h) as user space reads them:
 * the key, the server's slot and tag bits, and the time placed from the
 * 32-bit stamp, across its wrap too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "tenace.h"

#define UNIT (1ULL << TN_CT4_TIME_SHIFT)

static void unpack(uint64_t now_ns, uint32_t seen, struct tn_ct_key *k, struct tn_ct_value *v)
{
	struct tn_ct4_key k4 = { .src = 0x0100000a, .farm_slot = 7 };
	struct tn_ct4_value v4 = { .seen = seen, .id = tn_ct4_id(1023, 0xabcdef12u) };

	tn_ct4_unpack(&k4, &v4, now_ns, k, v);
}

static void key_slot_and_tag(void **state)
{
	struct tn_ct_key k, want = { .src = { 10, 0, 0, 1 }, .farm_slot = 7, .family = TN_FAMILY_V4 };
	struct tn_ct_value v;

	(void)state;
	unpack(1000 * UNIT, 990, &k, &v);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_int_equal(v.slot, 1023);
	/* the low bits of the tag only, and they compare equal to the full tag */
	assert_int_equal(v.tag, 0xabcdef12u & TN_CT_TAG_MASK);
	assert_true(tn_ct_tag_eq(v.tag, 0xabcdef12u));
	assert_false(tn_ct_tag_eq(v.tag, 0xabcdef13u));
	assert_int_equal(v.last_seen_ns, 990 * UNIT);
}

/* A stamp taken before the 32-bit units wrapped, read after: still 20 units ago. */
static void time_across_the_wrap(void **state)
{
	uint64_t now = ((1ULL << 32) + 5) * UNIT + 123;
	struct tn_ct_key k;
	struct tn_ct_value v;

	(void)state;
	unpack(now, (uint32_t)-15, &k, &v);
	assert_int_equal(v.last_seen_ns, ((1ULL << 32) - 15) * UNIT);
	assert_true(now - v.last_seen_ns >= 20 * UNIT && now - v.last_seen_ns < 21 * UNIT);
	/* a stamp a unit newer than the reader's clock (another CPU) is not ages old */
	unpack(now, 6, &k, &v);
	assert_int_equal(v.last_seen_ns, ((1ULL << 32) + 6) * UNIT);
}

/* The words the data plane stores whole are the structs' bytes. */
static void keys_stored_as_words(void **state)
{
	struct tn_ct4_key k4 = { .src = 0x0100000a, .farm_slot = 0x1234 };
	struct tn_vip_key vk = { .port = 0x5000, .proto = 17, .family = TN_FAMILY_V6, .kind = TN_VIP_KIND_ADDRESS };
	struct tn_ct_key ck = { .src = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, .sport = 0x1234,
				.dport = 0x5000, .farm_slot = 0x0203, .proto = 6, .family = TN_FAMILY_V6 };
	struct tn_ct4_value v4 = { .seen = 0x89abcdef, .id = 0x01234567 };
	__u64 aw[2];
	uint64_t w;

	(void)state;
	w = tn_ct4_key_word(k4.src, k4.farm_slot);
	assert_memory_equal(&w, &k4, sizeof(w));
	w = tn_vip_key_tail(vk.port, vk.proto, vk.family, vk.kind);
	assert_memory_equal(&w, (const uint8_t *)&vk + 16, sizeof(w));
	w = tn_ct_key_tail(ck.sport, ck.dport, ck.farm_slot, ck.proto, ck.family);
	assert_memory_equal(&w, (const uint8_t *)&ck + 32, sizeof(w));
	tn_addr_words(ck.src, aw);
	assert_memory_equal(aw, ck.src, sizeof(aw));
	w = tn_w64(v4.seen, v4.id);
	assert_memory_equal(&w, &v4, sizeof(w));
}

/* The sets hold 2 to 4 times the configured size in ways, a power of two
 * of sets. */
static void sets_for_a_size(void **state)
{
	const uint32_t sizes[] = { 1024, 1025, 65536, 100000, 7500000, 8000000 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = tn_ct4_nsets(sizes[i]), ways = n * TN_CT4_WAYS;

		assert_true(n && (n & (n - 1)) == 0);
		assert_true(ways >= 2ULL * sizes[i] && ways < 4ULL * sizes[i]);
	}
	assert_int_equal(tn_ct4_nsets(7500000), 1u << 21);
}

/* Clients spread over the sets as at random: 65,536 consecutive addresses
 * in 16,384 sets (4 a set on average) fill none past 14, and the same keys
 * with another seed fall elsewhere. */
static void sets_spread(void **state)
{
	static uint16_t load[16384];
	uint32_t mask = 16383, most = 0, same = 0;

	(void)state;
	for (uint32_t a = 0; a < 65536; a++) {
		uint64_t k = tn_ct4_key_word(0x0a000000u + a, 3);
		uint32_t s = tn_ct4_set_of(k, 77, mask);

		assert_true(s <= mask);
		if (++load[s] > most)
			most = load[s];
		same += s == tn_ct4_set_of(k, 78, mask);
	}
	assert_true(most <= 14);
	assert_true(same < 65536 / 100);
}

/* REPEAT is no part of the tag. */
static void repeat_bit_apart(void **state)
{
	uint32_t id = tn_ct4_id(517, 0xffffffffu);

	(void)state;
	assert_int_equal(id & TN_CT4_REPEAT, 0);
	assert_int_equal(tn_ct4_slot(id | TN_CT4_REPEAT), 517);
	assert_int_equal(tn_ct4_tag(id | TN_CT4_REPEAT), TN_CT_TAG_MASK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_slot_and_tag),
		cmocka_unit_test(time_across_the_wrap),
		cmocka_unit_test(keys_stored_as_words),
		cmocka_unit_test(sets_for_a_size),
		cmocka_unit_test(sets_spread),
		cmocka_unit_test(repeat_bit_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
