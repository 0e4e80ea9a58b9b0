/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The growable buffer: request bodies, replies, Prometheus text. Always
 * NUL-terminated; an allocation failure sticks (failed) so a long series of
 * appends is checked once at the end. */
#ifndef TENACE_LIB_BUF_H
#define TENACE_LIB_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct tn_buf {
	char *s;
	size_t len, cap;
	bool failed;
};

/* 0, or -ENOMEM (b->failed set). */
int tn_buf_append(struct tn_buf *b, const void *data, size_t n);
int tn_buf_printf(struct tn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (caller frees), or NULL when an append failed; b is emptied. */
char *tn_buf_take(struct tn_buf *b);
void tn_buf_free(struct tn_buf *b);

#endif /* TENACE_LIB_BUF_H */
