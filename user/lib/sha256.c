/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include "lib/sha256.h"

void tn_sha256_init(struct tn_sha256 *s)
{
	sha256_init(&s->ctx);
}

void tn_sha256_update(struct tn_sha256 *s, const void *data, size_t len)
{
	sha256_update(&s->ctx, len, data);
}

void tn_sha256_final(struct tn_sha256 *s, uint8_t out[TN_SHA256_LEN])
{
	sha256_digest(&s->ctx, TN_SHA256_LEN, out);
}

void tn_sha256_hex(const uint8_t d[TN_SHA256_LEN], char out[TN_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < TN_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * TN_SHA256_LEN] = 0;
}
