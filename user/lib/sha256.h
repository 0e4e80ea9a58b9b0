/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* SHA-256 for digests that several nodes compare (farm tables): Nettle's,
 * behind three calls, so that no file of Tenace holds its own crypto. */
#ifndef TENACE_LIB_SHA256_H
#define TENACE_LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <nettle/sha2.h>

#define TN_SHA256_LEN SHA256_DIGEST_SIZE
#define TN_SHA256_HEX (2 * TN_SHA256_LEN + 1)

struct tn_sha256 {
	struct sha256_ctx ctx;
};

void tn_sha256_init(struct tn_sha256 *s);
void tn_sha256_update(struct tn_sha256 *s, const void *data, size_t len);
void tn_sha256_final(struct tn_sha256 *s, uint8_t out[TN_SHA256_LEN]);
/* Lowercase hex of a digest. */
void tn_sha256_hex(const uint8_t d[TN_SHA256_LEN], char out[TN_SHA256_HEX]);

#endif /* TENACE_LIB_SHA256_H */
