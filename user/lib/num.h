/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Numbers from command lines and URLs: one parser, strict (no sign, no
 * spaces, no trailing bytes). */
#ifndef TENACE_LIB_NUM_H
#define TENACE_LIB_NUM_H

#include <stdint.h>

/* Decimal, or 0x hex: 0, or -EINVAL (not a number) / -ERANGE (outside min..max). */
int tn_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int tn_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Decimal digits only (an id in a URL): 0 or -EINVAL. */
int tn_parse_id(const char *s, uint32_t *out);

#endif /* TENACE_LIB_NUM_H */
