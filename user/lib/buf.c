/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/buf.h"

static int reserve(struct tn_buf *b, size_t more)
{
	size_t nc;
	char *ns;

	if (b->failed)
		return -ENOMEM;
	if (b->len + more + 1 <= b->cap)
		return 0;
	nc = b->cap ? b->cap : 256;
	while (nc < b->len + more + 1)
		nc *= 2;
	ns = realloc(b->s, nc);
	if (!ns) {
		b->failed = true;
		return -ENOMEM;
	}
	b->s = ns;
	b->cap = nc;
	return 0;
}

int tn_buf_append(struct tn_buf *b, const void *data, size_t n)
{
	if (reserve(b, n))
		return -ENOMEM;
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

int tn_buf_printf(struct tn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return -EINVAL;
	}
	if (reserve(b, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *tn_buf_take(struct tn_buf *b)
{
	char *s;

	if (!b->failed && !b->s && reserve(b, 0) == 0)
		b->s[0] = 0;
	s = b->failed ? NULL : b->s;
	if (b->failed)
		free(b->s);
	memset(b, 0, sizeof(*b));
	return s;
}

void tn_buf_free(struct tn_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}
