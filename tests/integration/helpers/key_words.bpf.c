// SPDX-License-Identifier: GPL-2.0
/*
 * The whole-word key helpers of headers/tenace.h (tn_w16/32/64 and the keys
 * built from them) checked against the structs' bytes, as a constant: clang
 * folds key_words_ok() to "return mask", so compiling it for a target shows
 * what those helpers give there, without running code of that byte order.
 * tests/integration/byte_order.sh compiles it for bpfel and bpfeb (and with
 * the byte order misdeclared, to see the check fail).
 */
#include <linux/types.h>
#include "tenace.h"

static __attribute__((always_inline)) inline int same(const void *a, const void *b, unsigned int n)
{
	const unsigned char *x = a, *y = b;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* One bit per helper whose word is the struct's bytes: 0x1f when all are. */
int key_words_ok(void)
{
	struct tn_ct4_key k4 = { .src = 0x0100000a, .farm_slot = 0x1234 };
	struct tn_vip_key vk = { .port = 0x5000, .proto = 17, .family = TN_FAMILY_V6, .kind = TN_VIP_KIND_ADDRESS };
	struct tn_ct_key ck = { .src = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
				.sport = 0x1234, .dport = 0x5000, .farm_slot = 0x0203, .proto = 6,
				.family = TN_FAMILY_V6 };
	struct tn_ct4_value v4 = { .seen = 0x89abcdef, .id = 0x01234567 };
	__u64 w, aw[2];
	int mask = 0;

	w = tn_ct4_key_word(k4.src, k4.farm_slot);
	mask |= same(&w, &k4, sizeof(w)) << 0;
	w = tn_vip_key_tail(vk.port, vk.proto, vk.family, vk.kind);
	mask |= same(&w, (const unsigned char *)&vk + 16, sizeof(w)) << 1;
	w = tn_ct_key_tail(ck.sport, ck.dport, ck.farm_slot, ck.proto, ck.family);
	mask |= same(&w, (const unsigned char *)&ck + 32, sizeof(w)) << 2;
	tn_addr_words(ck.src, aw);
	mask |= same(aw, ck.src, sizeof(aw)) << 3;
	w = tn_w64(v4.seen, v4.id);
	mask |= same(&w, &v4, sizeof(w)) << 4;
	return mask;
}
